"""One region's share of a custom domain: callers use one global name, and Route 53 answers each of
them with the region of lowest latency among the healthy ones."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..cdk import aws
from ..cdk.core import Construct, Fn, TerraformIterator, TerraformResourceLifecycle, Token
from .naming import Namer
from .rules import DOMAIN_NAME, HOSTED_ZONE_ID, REGION_PATTERN, OneOf, Whole, fail

HEALTH_CHECK_INTERVALS_SECONDS = (10, 30)
_INTERVAL = OneOf(HEALTH_CHECK_INTERVALS_SECONDS, "must be one of {values} (Route 53 allows no other)")
HEALTH_CHECK_PATH = "/api/health"


@dataclass(frozen=True, kw_only=True)
class CustomDomainConfig:
    """Settings of one region's share of the custom domain.

    namer, region: where and how resources are named.
    domain_name: the global name callers use, such as ``"api.example.com"``: a lowercase DNS name of
        at least two labels, at most 64 characters (it is the certificate's Common Name).
    hosted_zone_id: the Route 53 public hosted zone that holds ``domain_name``, such as
        ``"Z0123456789ABCDEFGHIJ"`` (the bare id, without ``/hostedzone/``).
    health_check_failure_threshold: consecutive failed checks (1 to 10) before Route 53 takes the
        region out of DNS answers. Default 3.
    health_check_interval_seconds: seconds between checks from each checker, 10 (fast, billed
        extra) or 30. Default 30. Changing it replaces the health check. (The health checks are
        ``LatencyRouting``'s, in the stack that routes to the regions; checked here alike.)

    behind_cdn: the region also answers on ``origin.{domain_name}``, the name a CloudFront
        distribution on ``domain_name`` sends requests to (``cdn_enabled``). Default False.

    ``regional_domain_name`` (``{region}.{domain_name}``) is always a valid DNS name, given those limits.
    """

    namer: Namer
    region: str
    domain_name: str
    hosted_zone_id: str
    health_check_failure_threshold: int = 3
    health_check_interval_seconds: int = 30
    behind_cdn: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.region, str) or not REGION_PATTERN.match(self.region):
            raise fail("region", self.region, 'is not a region name (expected the form "us-east-1")')
        # At most 64 characters (the certificate's Common Name), so the regional name always fits DNS.
        DOMAIN_NAME.check("domain_name", self.domain_name)
        HOSTED_ZONE_ID.check("hosted_zone_id", self.hosted_zone_id)
        Whole(1, 10).check("health_check_failure_threshold", self.health_check_failure_threshold)
        _INTERVAL.check("health_check_interval_seconds", self.health_check_interval_seconds)

    @property
    def regional_domain_name(self) -> str:
        """``{region}.{domain_name}``: reaches this region only."""
        return self.regional_name(self.region, self.domain_name)

    @staticmethod
    def regional_name(region: str, domain_name: str) -> str:
        """The name that reaches ``region``'s API only, by rule (another stack may derive it)."""
        return f"{region}.{domain_name}"

    @property
    def origin_domain_name(self) -> str | None:
        """``origin.{domain_name}`` behind a distribution, else ``None``."""
        return origin_name(self.domain_name) if self.behind_cdn else None


def origin_name(domain_name: str) -> str:
    """The latency-routed name a distribution on ``domain_name`` sends its requests to, by rule."""
    return f"origin.{domain_name}"


def validation_records(
    scope: Construct,
    certificate: aws.AcmCertificate,
    *,
    provider: aws.AwsProvider,
    zone_id: str,
    skip_names: Sequence[str] = (),
) -> aws.Route53Record:
    """A certificate's DNS validation records, keyed by domain name (known at plan time, as
    for_each requires), but ``skip_names``' (written elsewhere)."""
    # Over the set itself, as the provider's documentation does: cdktf's from_complex_list wraps it
    # in tolist(), and a list of a new certificate's options is wholly unknown at plan time, so
    # the plan of a first deploy (or of a replacement) fails with "Invalid for_each argument".
    # The domain names are known at plan time; the record values are not, and need not be.
    if not skip_names:
        others = ""
    elif len(skip_names) == 1:
        others = f" if dvo.domain_name != {json.dumps(skip_names[0])}"
    else:
        others = f" if !contains({json.dumps(list(skip_names))}, dvo.domain_name)"
    options = TerraformIterator.from_map(
        Token.as_any_map(
            "${{ for dvo in " + certificate.fqn + ".domain_validation_options : dvo.domain_name => dvo" + others + " }}"
        )
    )
    return aws.Route53Record(
        scope,
        "validation-records",
        provider=provider,
        for_each=options,
        zone_id=zone_id,
        name=options.get_string("resource_record_name"),
        type=options.get_string("resource_record_type"),
        records=[options.get_string("resource_record_value")],
        ttl=60,
        # UPSERT: a record of an earlier deployment (or of a state that was lost) is taken over.
        allow_overwrite=True,
    )


def public_certificate(
    scope: Construct, *, provider: aws.AwsProvider, domain_name: str, alternative_names: Sequence[str] = ()
) -> aws.AcmCertificate:
    """A DNS-validated public certificate."""
    return aws.AcmCertificate(
        scope,
        "certificate",
        provider=provider,
        domain_name=domain_name,
        subject_alternative_names=list(alternative_names) or None,
        validation_method="DNS",
        # API Gateway documents RSA keys of at most 2048 bits for custom domain names and does not
        # promise ECDSA; RSA 2048 is also what every client accepts.
        key_algorithm="RSA_2048",
        # A replacement (new names, say) must be issued before the domain names let go of the old one.
        lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
    )


def target_record_name(region: str, domain_name: str) -> str:
    """The name the latency record of ``region`` points at: an alias of the region's custom domain
    for the global name. Nobody connects to it; it lets another stack route to the region by a name
    it can derive, and it exists only once the region can answer."""
    return f"{region}.target.{domain_name}"


def origin_target_record_name(region: str, domain_name: str) -> str:
    """Behind a distribution, the name the origin name's latency record of ``region`` points at:
    an alias of the region's custom domain for the origin name."""
    return f"{region}.origin-target.{domain_name}"


class CustomDomain(Construct):
    """Creates, in the provider's region: an ACM certificate (DNS-validated, RSA 2048) for the
    domain name with the regional name ``{region}.{domain_name}`` as a subject alternative name; its
    validation records in the hosted zone and the wait for its issue; two REGIONAL API Gateway
    custom domain names (the global and the regional name, TLS 1.2) that map their root to the
    given REST API stage; a simple alias A record of the regional name; and the region's target
    record ``{region}.target.{domain_name}``, an alias of the global name's custom domain, created
    once the mapping (and whatever ``serves_after`` names) exists: ``LatencyRouting`` points the
    global name at it. Behind a distribution (``behind_cdn``), a third custom domain answers on
    ``origin.{domain_name}`` (a third name of the certificate), with a target record of its own,
    ``{region}.origin-target.{domain_name}``: ``LatencyRouting`` points the origin name at it.

    ACM's validation record for the domain name (and the origin name) is the same for every
    region's certificate, so exactly one region owns it: the one built with
    ``owns_shared_validation`` (a single region, or the home region, which is removed last). A
    region that does not own it writes only its regional name's record (removing a region then
    never deletes a record another region needs to renew), and waits for the shared one by
    reference (``shared_validation_fqdn``, in the same stack; not behind a distribution, where the
    shared records are two) or, in a stack of its own, without naming it.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: CustomDomainConfig,
        provider: aws.AwsProvider,
        rest_api_id: str,
        stage_name: str,
        owns_shared_validation: bool = True,
        shared_validation_fqdn: str | None = None,
        serves_after: Sequence[Any] = (),
    ) -> None:
        """``stage_name`` should be a reference to the stage (``Api.deployed_stage_name``), so the
        base path mappings wait for the stage to exist. ``owns_shared_validation=False``: the domain
        name's validation record is written elsewhere; ``shared_validation_fqdn``, when that is in
        the same stack, makes the wait reference it. ``serves_after``: what must exist before the
        target record lets callers here (the region's copy of the table, say)."""
        super().__init__(scope, id_)
        if shared_validation_fqdn is not None and owns_shared_validation:
            raise ValueError("shared_validation_fqdn: given, so owns_shared_validation must be False")
        self._domain_name = config.domain_name
        self._regional_domain_name = config.regional_domain_name
        self._owns_shared = owns_shared_validation
        self._alternative_names = [self._regional_domain_name]
        # The names every region's certificate has, whose validation records are the same in each.
        self._shared_names = [self._domain_name]
        if config.origin_domain_name is not None:
            self._alternative_names.append(config.origin_domain_name)
            self._shared_names.append(config.origin_domain_name)
            # Two shared records: the wait names none of them (as in a stack of its own).
            shared_validation_fqdn = None
        self._certificate(provider, config.hosted_zone_id, shared_validation_fqdn)
        global_target, global_zone, global_mapping = self._domain(
            "", self._domain_name, provider=provider, rest_api_id=rest_api_id, stage_name=stage_name
        )
        regional_target, regional_zone, _ = self._domain(
            "regional-", self._regional_domain_name, provider=provider, rest_api_id=rest_api_id, stage_name=stage_name
        )
        self._alias_record(
            "regional-record-a",
            provider,
            config.hosted_zone_id,
            self._regional_domain_name,
            regional_target,
            regional_zone,
        )
        self._target_record_name = target_record_name(config.region, self._domain_name)
        self._target_record = self._alias_record(
            "target-record-a",
            provider,
            config.hosted_zone_id,
            self._target_record_name,
            global_target,
            global_zone,
            depends_on=[global_mapping, *serves_after],
        )
        origin = config.origin_domain_name
        if origin is not None:
            # Behind a distribution, which sends its requests to origin.<domain>: a custom domain of
            # that name, and a target record of its own (the global name's stays as it was, so
            # turning the distribution on changes nothing callers use until the edge takes over).
            origin_target, origin_zone, origin_mapping = self._domain(
                "origin-", origin, provider=provider, rest_api_id=rest_api_id, stage_name=stage_name
            )
            self._alias_record(
                "origin-target-record-a",
                provider,
                config.hosted_zone_id,
                origin_target_record_name(config.region, self._domain_name),
                origin_target,
                origin_zone,
                depends_on=[origin_mapping, *serves_after],
            )

    def _certificate(self, provider: aws.AwsProvider, zone_id: str, shared_validation_fqdn: str | None) -> None:
        """The certificate for both names, its validation records and the wait for its issue."""
        certificate = public_certificate(
            self, provider=provider, domain_name=self._domain_name, alternative_names=self._alternative_names
        )
        validation_records = self._validation_records(certificate, provider, zone_id)
        own_fqdns = Fn.tolist(TerraformIterator.from_resources(validation_records).pluck_property("fqdn"))
        if self._owns_shared:
            fqdns: list[str] | None = own_fqdns
        elif shared_validation_fqdn is not None:
            fqdns = Token.as_list(Fn.concat([own_fqdns, [shared_validation_fqdn]]))
        else:
            # The provider checks a given list against every name's record; the domain name's is
            # in another stack, so the wait names none and waits for this stack's by depends_on.
            fqdns = None
        validation = aws.AcmCertificateValidation(
            self,
            "certificate-validation",
            provider=provider,
            certificate_arn=certificate.arn,
            validation_record_fqdns=fqdns,
            depends_on=None if fqdns is not None else [validation_records],
        )
        # The validation's ARN, not the certificate's: the domain names wait until the certificate is issued.
        self._certificate_arn = validation.certificate_arn

    def _alias_record(
        self,
        id_: str,
        provider: aws.AwsProvider,
        zone_id: str,
        name: str,
        target: str,
        target_zone: str,
        depends_on: list[Any] | None = None,
    ) -> aws.Route53Record:
        """A simple alias A record of ``name`` to a custom domain's target. A records only: a
        REGIONAL custom domain answers on IPv4 unless its ip_address_type is dualstack, so an AAAA
        alias would send IPv6 clients nowhere."""
        return aws.Route53Record(
            self,
            id_,
            provider=provider,
            zone_id=zone_id,
            name=name,
            type="A",
            alias=aws.Route53RecordAlias(name=target, zone_id=target_zone, evaluate_target_health=True),
            depends_on=depends_on,
        )

    def _validation_records(
        self, certificate: aws.AcmCertificate, provider: aws.AwsProvider, zone_id: str
    ) -> aws.Route53Record:
        """All the certificate's validation records for the owner of the shared record, the
        regional name's only for the others."""
        records = validation_records(
            self,
            certificate,
            provider=provider,
            zone_id=zone_id,
            skip_names=() if self._owns_shared else self._shared_names,
        )
        self._validation_fqdn = (
            Fn.lookup_nested(Token.as_any(records.fqn), [self._domain_name, "fqdn"]) if self._owns_shared else None
        )
        return records

    def _domain(
        self, prefix: str, name: str, *, provider: aws.AwsProvider, rest_api_id: str, stage_name: str
    ) -> tuple[str, str, aws.ApiGatewayBasePathMapping]:
        """A REGIONAL custom domain name whose root is the stage's root, so ``https://{name}/api/...``
        reaches the stage's ``/api``. Returns the alias target (its regional domain name and zone id)
        and the mapping."""
        domain = aws.ApiGatewayDomainName(
            self,
            f"{prefix}domain-name",
            provider=provider,
            domain_name=name,
            endpoint_configuration=aws.ApiGatewayDomainNameEndpointConfiguration(types=["REGIONAL"]),
            regional_certificate_arn=self._certificate_arn,
            security_policy="TLS_1_2",
        )
        mapping = aws.ApiGatewayBasePathMapping(
            self,
            f"{prefix}base-path-mapping",
            provider=provider,
            # The resource's attribute, not the plain name: the mapping must wait for the domain.
            domain_name=domain.domain_name,
            api_id=rest_api_id,
            stage_name=stage_name,
        )
        return domain.regional_domain_name, domain.regional_zone_id, mapping

    @property
    def domain_name(self) -> str:
        """The global name, known at synth time."""
        return self._domain_name

    @property
    def regional_domain_name(self) -> str:
        """``{region}.{domain_name}``, known at synth time."""
        return self._regional_domain_name

    @property
    def url(self) -> str:
        """The ``/api`` resource through the global name (the nearest healthy region)."""
        return f"https://{self._domain_name}/api"

    @property
    def regional_url(self) -> str:
        """The ``/api`` resource of this region only."""
        return f"https://{self._regional_domain_name}/api"

    @property
    def certificate_arn(self) -> str:
        """The certificate's ARN once issued (a reference to the validation, so users wait for it)."""
        return self._certificate_arn

    @property
    def validation_fqdn(self) -> str:
        """The validation record of the domain name shared by every region's certificate (a
        reference to the record), from the construct that owns it."""
        if self._validation_fqdn is None:
            raise ValueError("validation_fqdn: this region does not own the domain name's validation record")
        return self._validation_fqdn

    @property
    def target_record(self) -> aws.Route53Record:
        """The target record, for a latency record in the same stack to wait for."""
        return self._target_record

    @property
    def target_record_name(self) -> str:
        """``{region}.target.{domain_name}``, known at synth time."""
        return self._target_record_name
