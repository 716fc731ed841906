"""SDK request bodies (DESIGN §4). Unknown fields are ignored for SDK compatibility;
the documented ones are checked strictly, telemetry included."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

MachineHash = Annotated[StrictStr, Field(pattern=r"^[a-f0-9]{64}$")]
LicenseKey = Annotated[StrictStr, Field(min_length=1, max_length=128)]
InstanceId = Annotated[StrictStr, Field(min_length=1, max_length=128)]


class SdkBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sdk_version: Annotated[StrictStr, Field(max_length=64)] | None = None
    app_version: Annotated[StrictStr, Field(max_length=64)] | None = None
    platform: Annotated[StrictStr, Field(max_length=32)] | None = None
    sdk: Annotated[StrictStr, Field(max_length=16)] | None = None


class ActivateRequest(SdkBody):
    license_key: LicenseKey
    instance_name: Annotated[StrictStr, Field(min_length=1, max_length=255)]
    machine_hash: MachineHash | None = None
    free_tier_instance_id: InstanceId | None = None


class ValidateRequest(SdkBody):
    license_key: LicenseKey
    instance_id: InstanceId
    machine_hash: MachineHash | None = None


class DeactivateRequest(SdkBody):
    instance_id: InstanceId
    license_key: LicenseKey | None = None


class KeylessRequest(SdkBody):
    instance_id: InstanceId
    state: Literal["trial", "free_tier", "expired"]
    machine_hash: MachineHash
