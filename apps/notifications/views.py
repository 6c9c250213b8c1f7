"""Pages: the inbox (站内信), the unread badge fragment, and notification preferences.

Everything here is about the signed-in user's own inbox: there is no org scope to check, and
another person's item is a 404 (`inbox_mark_read` filters by user)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from apps.notifications import selectors, services
from apps.notifications.forms import PreferencesForm


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """通知: newest first, 20 a page; ?unread=1 shows unread only."""
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(selectors.inbox_for(user=request.user, unread_only=unread_only), 20).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "notifications/inbox.html",
        {
            "page": page,
            "unread_only": unread_only,
            "unread": selectors.unread_count(user=request.user),
        },
    )


@login_required
@require_GET
def unread(request: HttpRequest) -> HttpResponse:
    """The header badge (fragment swapped into #inbox-badge)."""
    return render(
        request, "notifications/_badge.html", {"unread": selectors.unread_count(user=request.user)}
    )


@login_required
@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    item = services.inbox_mark_read(user=request.user, item_id=pk)
    if request.headers.get("HX-Request"):
        response = render(request, "notifications/_item.html", {"item": item})
        response["HX-Trigger"] = "inbox-changed"
        return response
    return redirect("notifications:inbox")


@login_required
@require_GET
def open_item(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow an item's link and mark it read on the way."""
    item = services.inbox_mark_read(user=request.user, item_id=pk)
    if item.url and url_has_allowed_host_and_scheme(item.url, allowed_hosts={request.get_host()}):
        return redirect(item.url)
    return redirect("notifications:inbox")


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = services.inbox_mark_all_read(user=request.user)
    messages.success(request, f"已将 {count} 条通知标为已读。" if count else "没有未读通知。")
    return redirect("notifications:inbox")


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    """通知设置: which channels the user receives reminders on."""
    current = selectors.preferences_of(user=request.user)
    status = 200
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            try:
                services.preferences_set(user=request.user, values=form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, "通知设置已保存。")
                return redirect("notifications:preferences")
        status = 400
    else:
        form = PreferencesForm(initial=current)
    return render(
        request,
        "notifications/preferences.html",
        {"form": form, "user_obj": request.user},
        status=status,
    )
