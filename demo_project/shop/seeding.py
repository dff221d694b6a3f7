"""Deterministic demo data: ``seed()`` is what ``manage.py seed_demo`` runs.

Product *i* always gets the same name, slug, price and stock, so running the seed again
only inserts the slugs that are missing and never duplicates or rewrites a row.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from .models import Product, StockMovement, Supplier

# Local use only; the README lists them.
DEMO_USERS = [
    # (username, password, is_staff and is_superuser)
    ("admin", "admin", True),
    ("customer", "customer", False),
]

CATEGORIES = {
    "Kitchen": ["Kettle", "Skillet", "Teapot", "Colander", "Whisk", "Ladle", "Mortar"],
    "Garden": ["Trowel", "Watering Can", "Planter", "Pruner", "Rake", "Birdhouse"],
    "Office": ["Notebook", "Desk Lamp", "Stapler", "Pen Case", "Letter Tray", "Paperweight"],
    "Outdoors": ["Lantern", "Canteen", "Compass", "Hammock", "Camp Stool", "Flask"],
    "Home": ["Candle Holder", "Throw Blanket", "Vase", "Mirror", "Wall Clock", "Doormat"],
    "Tools": ["Hammer", "Hand Saw", "Chisel", "Spirit Level", "Tape Measure", "Toolbox"],
}
NOUNS = [(noun, category) for category, nouns in CATEGORIES.items() for noun in nouns]
ADJECTIVES = [
    "Sturdy", "Classic", "Compact", "Heritage", "Nordic", "Rustic", "Modern", "Folding",
    "Handmade", "Pocket", "Deluxe", "Minimal", "Vintage", "Everyday", "Alpine", "Coastal",
    "Studio", "Workshop", "Weekend", "Grand", "Little", "Quiet", "Bright", "Travel",
]  # fmt: skip
MATERIALS = ["Oak", "Walnut", "Copper", "Brass", "Steel", "Linen", "Ceramic", "Bamboo"]
FEATURES = [
    "Built to last and easy to repair.",
    "Ships in plastic-free packaging.",
    "Made in a small workshop, in small batches.",
    "A favourite of our regular customers.",
    "Finished by hand; no two are quite alike.",
    "Backed by a five-year guarantee.",
]
_COMBINATIONS = len(NOUNS) * len(ADJECTIVES) * len(MATERIALS)


@dataclass
class SeedResult:
    products_created: int
    products_total: int
    users_created: list[str] = field(default_factory=list)


def product(i: int) -> Product:
    """The *i*-th demo product (unsaved); the same *i* always gives the same product."""
    # Mixed radix over (noun, adjective, material): neighbouring products differ in
    # kind, and the first len(NOUNS) * len(ADJECTIVES) * len(MATERIALS) names are unique.
    noun, category = NOUNS[i % len(NOUNS)]
    adjective = ADJECTIVES[(i // len(NOUNS)) % len(ADJECTIVES)]
    material = MATERIALS[(i // (len(NOUNS) * len(ADJECTIVES))) % len(MATERIALS)]
    name = f"{adjective} {material} {noun}"
    if i >= _COMBINATIONS:
        name += f" No. {i // _COMBINATIONS + 1}"
    rng = random.Random(i)
    return Product(
        name=name,
        slug=slugify(name),
        category=category,
        price=Decimal(rng.randrange(299, 49_999)) / 100,
        stock=0 if rng.random() < 0.08 else rng.randrange(1, 120),
        description=(
            f"A {adjective.lower()} {noun.lower()} in {material.lower()}. {rng.choice(FEATURES)}"
        ),
    )


@transaction.atomic
def seed(products: int = 1000) -> SeedResult:
    """Ensure demo products ``0..products-1`` and the demo users exist."""
    existing = set(Product.objects.values_list("slug", flat=True))
    missing = [p for p in (product(i) for i in range(products)) if p.slug not in existing]
    Product.objects.bulk_create(missing, batch_size=500)
    seed_inventory()
    return SeedResult(
        products_created=len(missing),
        products_total=Product.objects.count(),
        users_created=[u for u, pw, staff in DEMO_USERS if _ensure_user(u, pw, staff=staff)],
    )


def _ensure_user(username: str, password: str, *, staff: bool) -> bool:
    """Create the user if missing; an existing user (and password) is left alone."""
    user_model = get_user_model()
    if user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).exists():
        return False
    # Hashing is the slow part of seeding (PBKDF2), so it happens only on creation.
    user = user_model(
        **{user_model.USERNAME_FIELD: username},
        email=f"{username}@example.com",
        is_staff=staff,
        is_superuser=staff,
    )
    user.set_password(password)
    user.save()
    return True


# One supplier per category: (name, country, lead time in days).
SUPPLIERS = {
    "Kitchen": ("Copperfield Kitchenware", "United Kingdom", 6),
    "Garden": ("Greenhouse & Co", "Netherlands", 9),
    "Office": ("Papier Atelier", "France", 4),
    "Outdoors": ("Fjell Outfitters", "Norway", 12),
    "Home": ("Casa Lume", "Portugal", 8),
    "Tools": ("Eisenwerk Tools", "Germany", 5),
}


def seed_inventory() -> None:
    """Suppliers, each product's supplier (if unset) and a few stock movements for
    products without any; deterministic per product, so safe to run again."""
    suppliers = {
        category: Supplier.objects.get_or_create(
            name=name, defaults={"country": country, "lead_time_days": days}
        )[0]
        for category, (name, country, days) in SUPPLIERS.items()
    }
    for category, supplier in suppliers.items():
        Product.objects.filter(category=category, supplier=None).update(supplier=supplier)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    movements = []
    for pk in Product.objects.filter(movements__isnull=True).values_list("pk", flat=True):
        rng = random.Random(pk)
        for _ in range(rng.randrange(1, 4)):
            quantity = rng.randrange(5, 40) if rng.random() < 0.5 else -rng.randrange(1, 10)
            when = now - timedelta(hours=rng.randrange(1, 24 * 60))
            movements.append(StockMovement(product_id=pk, quantity=quantity, created_at=when))
    StockMovement.objects.bulk_create(movements, batch_size=500)
