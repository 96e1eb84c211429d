"""The vendor's `[gateway]` section: the gateway's listeners, the mail to inject, the counterparts'
addresses and certificate names, the CA, the driver and the waits.

Design rule: the model describes the file and nothing else (pydantic, unknown keys refused, each
value checked where it is read); `target.py` turns it into a running target.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from simulator.conformance.endpoint.target import split_target
from simulator.core.mail.scanning import EICAR, GTUBE

KIT_INTAKE = "kit-tenant@intake.threatdefense.test"
KIT_SECOND_INTAKE = "kit-second-tenant@intake.threatdefense.test"
#: Sample names a vendor may give instead of the text: the industry's test strings (kept as names in
#: the configuration and the bundle, which a virus scanner would otherwise quarantine).
SAMPLES = {"EICAR": EICAR.decode(), "GTUBE": GTUBE.decode()}


def sample_text(value: str) -> str:
    """The body text a sample setting stands for: a named test string, or the text itself."""
    return SAMPLES.get(value.strip().upper(), value)


def check_address(value: str) -> str:
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in value.strip()):
        raise ValueError(f"not an email address: {value!r}")
    return value.strip()


def check_listen(value: str) -> str:
    host, _, port = value.strip().rpartition(":")
    if port != "0":  # port 0: the OS chooses (then `prepare` tells the driver which one)
        split_target(value)
    elif not host:
        raise ValueError(f"listen must be HOST:PORT, not {value!r}")
    return value.strip()


class Section(BaseModel):
    """A part of the vendor configuration file: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class ThreatDefenseSection(Section):
    """`[gateway.threat_defense]`: where the kit's Threat Defense listens and what it answers to."""

    listen: str = Field(default="127.0.0.1:0", description="HOST:PORT the kit's Threat Defense binds")
    intake_address: str = Field(default=KIT_INTAKE, description="the gateway's intake address")
    second_intake_address: str = Field(default=KIT_SECOND_INTAKE, description="for 1-intake-address-followed")
    names: list[str] = Field(default_factory=list, description="more names for its certificate")

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        return check_listen(value)

    @field_validator("intake_address", "second_intake_address")
    @classmethod
    def _intake(cls, value: str) -> str:
        return check_address(value)


class MailboxSection(Section):
    """`[gateway.mailbox]`: where the kit's mailbox host (the gateway's next hop) listens."""

    listen: str = Field(default="127.0.0.1:0", description="HOST:PORT the kit's mailbox host binds")
    names: list[str] = Field(default_factory=list, description="more names for its certificate")

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        return check_listen(value)


class DriverSection(Section):
    """`[gateway.driver]`: a Python class (`module:Class`, optionally from `path`) or an HTTP url."""

    python: str | None = Field(default=None, description="module:Class, built with `options`")
    path: Path | None = Field(default=None, description="a directory to import from, or a .py file")
    url: str | None = Field(default=None, description="an HTTP driver's base URL (POST <url>/<hook>)")
    options: dict[str, Any] = Field(default_factory=dict, description="keywords for the Python class")

    @model_validator(mode="after")
    def _one_form(self) -> DriverSection:
        if (self.python is None) == (self.url is None):
            raise ValueError("give either python (module:Class) or url, not both and not neither")
        if self.python is not None and ":" not in self.python:
            raise ValueError(f"python must be module:Class, not {self.python!r}")
        return self


class WaitsSection(Section):
    """`[gateway.waits]`: seconds the kit waits, for what it expects and before judging an absence."""

    arrival: float = Field(default=30.0, gt=0, description="for an expected message to arrive")
    quiet: float = Field(default=2.0, ge=0, description="before judging that nothing came")
    retry: float = Field(default=300.0, gt=0, description="for a retry (no let_retries_run hook)")
    smtp: float = Field(default=30.0, gt=0, description="for any SMTP reply of the gateway")


class GatewaySection(Section):
    """The `[gateway]` section of the vendor configuration file."""

    incoming: str = Field(description="HOST:PORT of the gateway's incoming (public) listener")
    outgoing: str | None = Field(default=None, description="HOST:PORT of its outgoing (relay) listener")
    recipients: list[str] = Field(min_length=1, description="local recipients, all in one incoming policy")
    sender: str = Field(default="kit-sender@outside.kit.test", description="incoming mail's sender")
    external_recipient: str = Field(default="kit-someone@outside.kit.test", description="outgoing mail to")
    dropped_sample: str | None = Field(default=None, description="body text it drops (or EICAR)")
    quarantined_sample: str | None = Field(default=None, description="body text it quarantines (or GTUBE)")
    split_recipients: list[str] | None = Field(default=None, description="two, in two policies")
    threat_defense: ThreatDefenseSection = Field(default_factory=ThreatDefenseSection)
    mailbox: MailboxSection = Field(default_factory=MailboxSection)
    ca_cert: Path | None = Field(default=None, description="PEM of the CA of the counterparts' certificates")
    ca_key: Path | None = Field(default=None, description="PEM of that CA's private key")
    driver: DriverSection | None = None
    waits: WaitsSection = Field(default_factory=WaitsSection)

    @field_validator("incoming", "outgoing")
    @classmethod
    def _listener(cls, value: str | None) -> str | None:
        if value is not None:
            split_target(value)
        return None if value is None else value.strip()

    @field_validator("recipients", "split_recipients")
    @classmethod
    def _addresses(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [check_address(each) for each in value]

    @field_validator("sender", "external_recipient")
    @classmethod
    def _one_address(cls, value: str) -> str:
        return check_address(value)

    @model_validator(mode="after")
    def _pairs(self) -> GatewaySection:
        if self.split_recipients is not None and len(self.split_recipients) != 2:
            raise ValueError("split_recipients lists exactly two recipients, in different policies")
        if (self.ca_cert is None) != (self.ca_key is None):
            raise ValueError("give ca_cert and ca_key together (or neither: the kit makes a CA)")
        return self
