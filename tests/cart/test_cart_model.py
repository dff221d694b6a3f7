"""A model of the cart, run against the real one in random sequences (Hypothesis):
adds, sets and removals near both caps, so that an off-by-one in either cap (units per
line, lines per cart) shows as a difference between the model and Redis."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from demo_project.shop.models import Product
from redis_sessions.cart import Cart

pytestmark = pytest.mark.django_db

MAX_QUANTITY, MAX_LINES = 4, 3  # small: sequences reach both caps within a few steps
PKS = ("1", "2", "3", "4", "5")
_users = itertools.count(1000)


class CartModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.cart = Cart.for_user(next(_users))
        self.lines: dict[str, int] = {}

    def _allowed(self, item: str, new: int) -> bool:
        if new > MAX_QUANTITY:
            return False
        return new == 0 or item in self.lines or len(self.lines) < MAX_LINES

    def _apply(self, item: str, new: int, call: Any) -> None:
        if self._allowed(item, new):
            call()
            if new:
                self.lines[item] = new
            else:
                self.lines.pop(item, None)
        else:
            with pytest.raises(ValueError):
                call()

    @rule(item=st.sampled_from(PKS), units=st.integers(1, MAX_QUANTITY + 1))
    def add(self, item: str, units: int) -> None:
        new = self.lines.get(item, 0) + units
        self._apply(item, new, lambda: self.cart.add(item, units))

    @rule(item=st.sampled_from(PKS), quantity=st.integers(0, MAX_QUANTITY + 1))
    def set(self, item: str, quantity: int) -> None:
        self._apply(item, quantity, lambda: self.cart.set(item, quantity))

    @rule(item=st.sampled_from(PKS))
    def remove(self, item: str) -> None:
        self.cart.remove(item)
        self.lines.pop(item, None)

    @invariant()
    def redis_holds_what_the_model_says(self) -> None:
        assert self.cart.quantities() == self.lines


def test_the_cart_follows_its_model_at_both_caps(settings_fixture: None) -> None:
    run_state_machine_as_test(
        CartModel,
        settings=settings(
            max_examples=40,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )


@pytest.fixture
def settings_fixture(settings: Any, redis: Any) -> None:
    settings.REDIS_SESSIONS = {
        **settings.REDIS_SESSIONS,
        "CART_MAX_QUANTITY": MAX_QUANTITY,
        "CART_MAX_LINES": MAX_LINES,
    }
    for pk in PKS:
        Product.objects.create(pk=int(pk), name=f"P{pk}", slug=f"p{pk}", price=1)
