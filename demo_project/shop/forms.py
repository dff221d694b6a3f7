from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator

from redis_sessions.conf import app_settings


class AddToCartForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, initial=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The cart refuses more anyway (atomically, in Redis); the form says so first.
        limit = app_settings.CART_MAX_QUANTITY
        field = self.fields["quantity"]
        field.validators.append(MaxValueValidator(limit))
        field.widget.attrs["max"] = limit
