from __future__ import annotations

from django.urls import path

from . import cart_views, views

app_name = "shop"

urlpatterns = [
    path("", views.product_list, name="product_list"),
    path("p/<slug:slug>/", views.product_detail, name="product_detail"),
    path("p/<slug:slug>/add-to-cart/", cart_views.cart_add, name="cart_add"),
    path("cart/", cart_views.cart_detail, name="cart"),
    path("cart/update/", cart_views.cart_update, name="cart_update"),
    path("inventory/", views.inventory, name="inventory"),
]
