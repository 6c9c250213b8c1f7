"""Admin-editable rule parameters (DOMAIN.md ⚠️ local practice, ❓ unverified rules).

Each app registers its parameters with their defaults in a `rules.py` module of its own
(imported from its AppConfig.ready); administrators change them on the 规则参数 page or in the
Django admin; code reads them with `rule_value("meetings.late_entry_days")`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError

_REGISTRY: dict[str, RuleDef] = {}
_CACHE_KEY = "rules:v1"


@dataclass(frozen=True)
class RuleDef:
    key: str
    default: Any
    label: str
    help_text: str = ""
    kind: type = int  # int, Decimal, bool, str, dict, list
    min_value: Any = None
    max_value: Any = None

    def display(self, value: Any) -> str:
        """The value as the 规则参数 page shows and accepts it (JSON for dict/list)."""
        if self.kind in (dict, list):
            return json.dumps(value, ensure_ascii=False)
        return str(value)

    def coerce(self, value: Any) -> Any:
        try:
            if self.kind is bool:
                if isinstance(value, str):
                    value = value.strip().lower() in {"1", "true", "yes", "on", "是"}
                return bool(value)
            if self.kind in (dict, list):
                if isinstance(value, str):
                    value = json.loads(value)
                if not isinstance(value, self.kind):
                    raise TypeError(value)
            elif self.kind is Decimal:
                value = Decimal(str(value))
            elif self.kind in (int, str):
                value = self.kind(value)
        except (TypeError, ValueError, ArithmeticError) as exc:  # json errors are ValueErrors
            raise ValidationError(f"“{self.label}”的取值无效：{value}") from exc
        if self.min_value is not None and value < self.min_value:
            raise ValidationError(f"“{self.label}”不能小于 {self.min_value}")
        if self.max_value is not None and value > self.max_value:
            raise ValidationError(f"“{self.label}”不能大于 {self.max_value}")
        return value


def register(key: str, default: Any, label: str, help_text: str = "", **kwargs: Any) -> RuleDef:
    kind = kwargs.pop("kind", type(default))
    rule = RuleDef(key=key, default=default, label=label, help_text=help_text, kind=kind, **kwargs)
    _REGISTRY[key] = rule
    return rule


def registry() -> dict[str, RuleDef]:
    return dict(sorted(_REGISTRY.items()))


def _stored() -> dict[str, Any]:
    values = cache.get(_CACHE_KEY)
    if values is None:
        from apps.core.models import RuleSetting

        values = {row.key: row.value for row in RuleSetting.objects.all()}
        cache.set(_CACHE_KEY, values, 60)
    return values


def rule_value(key: str) -> Any:
    rule = _REGISTRY[key]
    stored = _stored()
    if key in stored:
        return rule.coerce(stored[key])
    return rule.default


def rule_set(*, key: str, value: Any, actor=None) -> Any:
    """Service: change a rule parameter (validated, audited)."""
    from django.db import transaction

    from apps.core.audit import audit_log
    from apps.core.models import AuditAction, RuleSetting

    rule = _REGISTRY[key]
    coerced = rule.coerce(value)
    stored = str(coerced) if isinstance(coerced, Decimal) else coerced
    with transaction.atomic():
        old = rule_value(key)
        RuleSetting.objects.update_or_create(
            key=key, defaults={"value": stored, "updated_by": actor}
        )
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            verb="rule_set",
            object_type="core.rulesetting",
            object_id=key,
            object_repr=rule.label,
            changes={key: [str(old), str(coerced)]},
        )
        transaction.on_commit(lambda: cache.delete(_CACHE_KEY))
    cache.delete(_CACHE_KEY)
    return coerced
