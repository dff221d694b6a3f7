"""Ids on the inspection pages, checked against the primary key of the model they name
before any key or query is built from them, and what they name: users and items.

An id from a URL names a row only when it is that row's primary key as the app writes
it: the key field's ``to_python`` accepts it, an integer key is in the range its
column holds on the model's database (``rowcache.documents.clean_pk``; the driver
would otherwise fail, SQLite with ``OverflowError``), and the text is the key's own
(``str(value) == id``), so an Arabic-Indic "3", " 7" or "007", which ``int()`` reads
as 3 and 7, are not other spellings of users 3 and 7. The pages answer 404 for any
other id. Ids read from Redis (cart lines, viewed items, logins) are checked the same
way before a query; one that no row can have is left unlabelled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models import Model
from django.http import Http404

from redis_sessions.conf import app_settings
from redis_sessions.rowcache.documents import clean_pk

USER_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # ints and UUIDs; nothing that shapes a key


def pk_value(model: type[Model], text: str) -> Any:
    """The primary key of ``model`` that ``text`` spells; ValueError for anything else."""
    value = clean_pk(model, text)
    if str(value) != text:
        raise ValueError(f"{text!r} is not how a {model._meta.label} key is written.")
    return value


def pk_values(model: type[Model], texts: Iterable[str]) -> dict[str, Any]:
    """``{text: primary key}`` for the ids among ``texts`` that can be keys of ``model``."""
    found = {}
    for text in texts:
        try:
            found[text] = pk_value(model, text)
        except ValueError:
            continue
    return found


def is_user_id(text: str) -> bool:
    """Whether ``text`` can be a user's id, and part of a key (no braces, colons...)."""
    return bool(USER_ID_RE.fullmatch(text)) and bool(pk_values(get_user_model(), [text]))


def user_id_or_404(text: str) -> str:
    """``text`` if it can be a user's id (``is_user_id``), else 404."""
    if not is_user_id(text):
        raise Http404("Not a user id")
    return text


def user(user_id: str) -> Any:
    """The user ``user_id`` (checked by ``user_id_or_404``), or None if there is none."""
    return get_user_model()._default_manager.filter(pk=user_id).first()


def usernames(user_ids: Iterable[Any]) -> dict[str, str]:
    """``{user id: username}`` in one query (ids that are not users are left out)."""
    user_model = get_user_model()
    pks = pk_values(user_model, {str(u) for u in user_ids})
    if not pks:
        return {}
    found = user_model._default_manager.in_bulk(list(pks.values()))
    return {str(pk): user.get_username() for pk, user in found.items()}


def find_user_id(username: str) -> str | None:
    """The id of the user called ``username`` (exact, then case-insensitive)."""
    user_model = get_user_model()
    field = user_model.USERNAME_FIELD
    manager = user_model._default_manager
    pk = manager.filter(**{field: username}).values_list("pk", flat=True).first()
    if pk is None:
        pk = manager.filter(**{f"{field}__iexact": username}).values_list("pk", flat=True).first()
    return None if pk is None else str(pk)


def item_labels(item_ids: Iterable[str]) -> dict[str, str]:
    """``{item id: str(object)}`` from ``CART_MODEL`` (the shop's item model), one query."""
    label = app_settings.CART_MODEL
    if not label:
        return {}
    model = apps.get_model(label)
    pks = pk_values(model, set(item_ids))
    found = model._default_manager.in_bulk(list(pks.values())) if pks else {}
    return {str(pk): str(obj) for pk, obj in found.items()}
