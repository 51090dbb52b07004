"""Contact-preference contract: the action server (internal) and staff (read only)."""

from datetime import datetime, time

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.contact_preferences.rules import ContactChannel
from api.contact_preferences.service import PreferenceSnapshot, PreferenceUpdate


class ContactPreferenceOut(BaseModel):
    no_workplace_contact: bool
    no_family_contact: bool
    # T2: borrower-local wall-clock times, [start, end); start > end wraps midnight.
    quiet_start: time | None
    quiet_end: time | None
    opted_out_channels: list[ContactChannel]
    stop_all: bool
    updated_at: datetime | None  # null: no preference was ever stated

    @classmethod
    def from_snapshot(cls, snapshot: PreferenceSnapshot) -> "ContactPreferenceOut":
        return cls(**{**vars(snapshot), "opted_out_channels": list(snapshot.opted_out_channels)})


class ContactPreferenceUpdateIn(BaseModel):
    """PATCH: every field is optional and only given fields change.

    quiet_start / quiet_end come together: both times to set quiet hours, both null to
    clear them. opt_out_channels switches channels off, opt_in_channels back on.
    """

    model_config = ConfigDict(extra="forbid")

    no_workplace_contact: bool | None = None
    no_family_contact: bool | None = None
    quiet_start: time | None = None
    quiet_end: time | None = None
    opt_out_channels: list[ContactChannel] = Field(default_factory=list, max_length=3)
    opt_in_channels: list[ContactChannel] = Field(default_factory=list, max_length=3)
    stop_all: bool | None = None

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def _local_wall_clock(cls, value: time | None) -> time | None:
        if value is not None and value.tzinfo is not None:
            raise ValueError("免打扰时间为借款人当地时间，不带时区")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "ContactPreferenceUpdateIn":
        given = {"quiet_start", "quiet_end"} & self.model_fields_set
        if len(given) == 1:
            raise ValueError("quiet_start 与 quiet_end 须同时提供")
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("quiet_start 与 quiet_end 须同时为时间或同时为 null")
        if self.quiet_start is not None and self.quiet_start == self.quiet_end:
            raise ValueError("免打扰开始与结束时间不能相同")
        if set(self.opt_out_channels) & set(self.opt_in_channels):
            raise ValueError("同一渠道不能同时关闭和开启")
        return self

    def to_update(self) -> PreferenceUpdate:
        return PreferenceUpdate(
            no_workplace_contact=self.no_workplace_contact,
            no_family_contact=self.no_family_contact,
            set_quiet_hours="quiet_start" in self.model_fields_set,
            quiet_start=self.quiet_start,
            quiet_end=self.quiet_end,
            opt_out_channels=frozenset(self.opt_out_channels),
            opt_in_channels=frozenset(self.opt_in_channels),
            stop_all=self.stop_all,
        )
