"""The resident directory (业主档案): households of the estate, the people living in them
and their phone numbers, and the history of every change (who, when, old, new).

A household is one address, written as the reception log writes units (3栋2单元501,
C栋1单元501, 2期3栋302). Priority residents are the 重点业户 of seed 001 篇5 7 (elderly,
ill, not permanent residents): their calls are raised one urgency level.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint, false, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from recorder.models import Base, utcnow

#: 身份 a resident may have: owner, tenant, family member.
RELATIONS = ("业主", "租户", "家属")


class Household(Base):
    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The whole address as the log writes it: 3栋2单元501.
    address: Mapped[str] = mapped_column(String(64), unique=True)
    building: Mapped[str] = mapped_column(String(32), index=True)  # 3栋, C栋, 2期3栋
    unit_no: Mapped[str | None] = mapped_column(String(16))  # 2 (单元), None: no 单元
    room: Mapped[str] = mapped_column(String(16))  # 501
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    residents: Mapped[list[Resident]] = relationship(
        back_populates="household", order_by="Resident.id"
    )


class Resident(Base):
    __tablename__ = "residents"
    __table_args__ = (UniqueConstraint("household_id", "name", name="uq_resident_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    relation: Mapped[str | None] = mapped_column(String(8))
    notes: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    household: Mapped[Household] = relationship(back_populates="residents")
    phones: Mapped[list[ResidentPhone]] = relationship(
        back_populates="resident", order_by="ResidentPhone.id", cascade="all, delete-orphan"
    )


class ResidentPhone(Base):
    """One number of a resident; `local` is the number without its area code (a landline's
    subscriber number, a mobile whole), so 021-62345678 and 62345678 meet."""

    __tablename__ = "resident_phones"
    __table_args__ = (
        UniqueConstraint("resident_id", "number", name="uq_resident_phone"),
        Index("ix_resident_phones_local", "local"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    #: E.164 (+862162345678) when the number is complete, else the local digits.
    number: Mapped[str] = mapped_column(String(32))
    local: Mapped[str] = mapped_column(String(32))

    resident: Mapped[Resident] = relationship(back_populates="phones")


class DirectoryRevision(Base):
    """One changed field of the directory, never written over (保密制度: changes accounted)."""

    __tablename__ = "directory_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    #: None: an import from the command line.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Where the change came from: "import 2026-11.xlsx", "desk".
    origin: Mapped[str] = mapped_column(String(255))
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
