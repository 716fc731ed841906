"""The HTTP API's types: request bodies and documented answers.

Management bodies are checked strictly: wrong types, unknown fields and over-long values
are 400. SDK bodies (DESIGN §4) ignore unknown fields for SDK compatibility; the documented
ones are checked strictly, telemetry included.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

# -- management API -------------------------------------------------------------------------

IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

Identifier = Annotated[StrictStr, Field(pattern=IDENTIFIER_PATTERN)]
DisplayName = Annotated[StrictStr, Field(min_length=1, max_length=200)]
Email = Annotated[
    StrictStr, Field(max_length=254, pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
]
Entitlement = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


RESERVED_TENANT_IDS = frozenset({"api", "docs", "redoc", "openapi.json", "healthz", "readyz"})


class CreateTenant(Body):
    tenant_id: Annotated[Identifier, AfterValidator(lambda value: _not_reserved(value))]
    name: DisplayName
    sdk_key: StrictBool = True


def _not_reserved(tenant_id: str) -> str:
    if tenant_id.lower() in RESERVED_TENANT_IDS:
        raise ValueError(f"{tenant_id!r} is reserved")
    return tenant_id


class ChangeTenant(Body):
    lifecycle: Annotated[StrictStr, Field(max_length=32)] | None = None
    sdk_quota_per_minute: Annotated[StrictInt, Field(ge=1, le=10_000_000)] | None = None


class ConnectStripe(Body):
    stripe_account_id: Annotated[StrictStr, Field(pattern=r"^acct_[A-Za-z0-9]{1,64}$")]


class CreateProduct(Body):
    product_id: Identifier
    display_name: DisplayName
    key_prefix: Annotated[StrictStr, Field(pattern=r"^[A-Z0-9]{4}$")]
    trial_duration_days: Annotated[StrictInt, Field(ge=0, le=365)] = 0
    free_tier_enabled: StrictBool = False


class ChangeProduct(Body):
    display_name: DisplayName | None = None
    status: Literal["active", "archived"] | None = None


class KeyTypeTerms(Body):
    display_name: DisplayName
    activation_limit: Annotated[StrictInt, Field(ge=1, le=100_000)]
    duration_days: Annotated[StrictInt, Field(ge=1, le=36_500)] | None = None
    price_in_cents: Annotated[StrictInt, Field(ge=0, le=100_000_000)] | None = None
    currency: Annotated[StrictStr, Field(pattern=r"^[a-z]{3}$")] | None = None
    recurring_interval: Annotated[StrictStr, Field(max_length=8)] | None = None
    entitlements: Annotated[list[Entitlement], Field(max_length=64)] = []
    fallback_access: StrictBool = False
    churn_limit_per_day: Annotated[StrictInt, Field(ge=1, le=100_000)] = 50


class CreateKeyType(KeyTypeTerms):
    key_type_id: Identifier


class ChangeKeyType(Body):
    display_name: DisplayName | None = None
    activation_limit: Annotated[StrictInt, Field(ge=1, le=100_000)] | None = None
    duration_days: Annotated[StrictInt, Field(ge=1, le=36_500)] | None = None
    price_in_cents: Annotated[StrictInt, Field(ge=0, le=100_000_000)] | None = None
    currency: Annotated[StrictStr, Field(pattern=r"^[a-z]{3}$")] | None = None
    recurring_interval: Annotated[StrictStr, Field(max_length=8)] | None = None
    entitlements: Annotated[list[Entitlement], Field(max_length=64)] | None = None
    fallback_access: StrictBool | None = None
    churn_limit_per_day: Annotated[StrictInt, Field(ge=1, le=100_000)] | None = None


class MintLicense(Body):
    product_id: Identifier
    key_type_id: Identifier
    customer_email: Email | None = None


HttpUrl = Annotated[StrictStr, Field(max_length=2048, pattern=r"^https?://[^\s/$.?#][^\s]*$")]


class CreateCheckout(Body):
    product_id: Identifier
    key_type_id: Identifier
    success_url: HttpUrl
    cancel_url: HttpUrl
    customer_email: Email | None = None


class ManualStripe(Body):
    secret_key: Annotated[StrictStr, Field(pattern=r"^(sk|rk)_(test|live)_[A-Za-z0-9]{1,200}$")]
    webhook_secret: Annotated[StrictStr, Field(pattern=r"^whsec_[A-Za-z0-9+/=]{1,200}$")]


# -- SDK protocol ---------------------------------------------------------------------------

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


# -- Answers, for the OpenAPI document (the routes answer plain JSON built by the hosts) --

class LeaseAnswer(BaseModel):
    """The v3 lease: times in Unix seconds, signed with Ed25519 (DESIGN §4)."""

    kid: str
    licenseKeyHash: str  # the wire names are camelCase
    instanceId: str
    issuedAt: int
    expiresAt: int
    status: Literal["active", "fallback", "expired"]
    signature: str
    entitlements: list[str]


class SignedProductConfig(BaseModel):
    """`GET config`, `POST keyless`, and the top level of a validate answer with a lease:
    ``issued_at``/``expires_at`` are the config's signature window (24 h), not the
    license's."""

    trial_duration_days: int
    free_tier_enabled: bool
    issued_at: int
    expires_at: int
    kid: str
    signature: str


class ActivateAnswer(BaseModel):
    activated: bool
    instance_id: str
    lease: LeaseAnswer
    license_expires_at: int | None = Field(
        description="the license's expiry in Unix seconds; null for a perpetual license")
    error: None = None


class ValidateAnswer(SignedProductConfig):
    valid: bool
    lease: LeaseAnswer
    license_expires_at: int | None = Field(
        description="the license's expiry in Unix seconds; null for a perpetual license")


class ValidateExpiredAnswer(ValidateAnswer):
    """422 for an expired license: a signed `expired` (or `fallback`) lease and the config.
    A revoked license or an inactive instance answers ``{error, code}`` alone."""

    error: str
    code: str
