from __future__ import annotations

import datetime as dt

from apps.members.idcard import make_id_number
from apps.members.models import Member, MemberStatus
from tests.factories import MemberFactory


def full_members(branch, n: int) -> list[Member]:
    return [MemberFactory(branch=branch, status=MemberStatus.FULL) for _ in range(n)]


def id_for(born: dt.date, *, male: bool = True, seq: int = 1) -> str:
    return make_id_number("110101", born, seq, male=male)
