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
        extra) or 30. Default 30. Changing it replaces the health check.

    ``regional_domain_name`` (``{region}.{domain_name}``) is always a valid DNS name, given those limits.
    """

    namer: Namer
    region: str
    domain_name: str
    hosted_zone_id: str
    health_check_failure_threshold: int = 3
    health_check_interval_seconds: int = 30

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
        return f"{self.region}.{self.domain_name}"


class CustomDomain(Construct):
    """Creates, in the provider's region: an ACM certificate (DNS-validated, RSA 2048) for the
    domain name with the regional name ``{region}.{domain_name}`` as a subject alternative name; its
    validation records in the hosted zone and the wait for its issue; two REGIONAL API Gateway
    custom domain names (the global and the regional name, TLS 1.2) that map their root to the
    given REST API stage; an HTTPS Route 53 health check of ``/api/health`` on the regional name; a
    latency-routed alias A record of the domain name to this region, which Route 53 leaves out of
    its answers while the health check fails; and a simple alias A record of the regional name.

    Every region's stack adds its own latency record (set identifier: the region) to the same
    name, so the name follows whichever regions are deployed.

    ACM's validation record for the domain name is the same for every region's certificate, so
    exactly one region owns it: the one built without ``shared_validation_fqdn``, which exposes it
    as ``validation_fqdn``; every other region is given that and writes only its regional name's
    record (removing a region then never deletes a record another region needs to renew).
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
        shared_validation_fqdn: str | None = None,
        serves_after: Sequence[Any] = (),
    ) -> None:
        """``stage_name`` should be a reference to the stage (``Api.deployed_stage_name``), so the
        base path mappings wait for the stage to exist. ``shared_validation_fqdn``: the owner's
        ``validation_fqdn``, for every region but the owner. ``serves_after``: what must exist before
        the global name sends callers here (the region's copy of the table, say); the latency record
        also waits for the stage's mapping, so no caller is sent to a region that cannot answer."""
        super().__init__(scope, id_)
        self._domain_name = config.domain_name
        self._regional_domain_name = config.regional_domain_name
        self._certificate(provider, config.hosted_zone_id, shared_validation_fqdn)
        global_target, global_zone, global_mapping = self._domain(
            "", self._domain_name, provider=provider, rest_api_id=rest_api_id, stage_name=stage_name
        )
        regional_target, regional_zone, _ = self._domain(
            "regional-", self._regional_domain_name, provider=provider, rest_api_id=rest_api_id, stage_name=stage_name
        )
        regional_fqdn = self._regional_record(provider, config.hosted_zone_id, regional_target, regional_zone)
        self._health_check(config, provider, regional_fqdn)
        self._latency_record(config, provider, global_target, global_zone, [global_mapping, *serves_after])

    def _certificate(self, provider: aws.AwsProvider, zone_id: str, shared_validation_fqdn: str | None) -> None:
        """The certificate for both names, its validation records and the wait for its issue."""
        certificate = aws.AcmCertificate(
            self,
            "certificate",
            provider=provider,
            domain_name=self._domain_name,
            subject_alternative_names=[self._regional_domain_name],
            validation_method="DNS",
            # API Gateway documents RSA keys of at most 2048 bits for custom domain names and does not
            # promise ECDSA; RSA 2048 is also what every client accepts.
            key_algorithm="RSA_2048",
            # A replacement (new names, say) must be issued before the domain names let go of the old one.
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        validation_records = self._validation_records(certificate, provider, zone_id, shared_validation_fqdn)
        own_fqdns = Fn.tolist(TerraformIterator.from_resources(validation_records).pluck_property("fqdn"))
        validation = aws.AcmCertificateValidation(
            self,
            "certificate-validation",
            provider=provider,
            certificate_arn=certificate.arn,
            validation_record_fqdns=(
                Token.as_list(Fn.concat([own_fqdns, [shared_validation_fqdn]])) if shared_validation_fqdn else own_fqdns
            ),
        )
        # The validation's ARN, not the certificate's: the domain names wait until the certificate is issued.
        self._certificate_arn = validation.certificate_arn

    def _regional_record(
        self, provider: aws.AwsProvider, zone_id: str, regional_target: str, regional_zone: str
    ) -> str:
        """The simple alias record of the regional name. Returns its name, as a reference."""
        # Lets the health checkers, and operators, reach this region while the latency record points elsewhere.
        regional_record = aws.Route53Record(
            self,
            "regional-record-a",
            provider=provider,
            zone_id=zone_id,
            name=self._regional_domain_name,
            type="A",
            alias=aws.Route53RecordAlias(name=regional_target, zone_id=regional_zone, evaluate_target_health=True),
        )
        return regional_record.fqdn

    def _health_check(self, config: CustomDomainConfig, provider: aws.AwsProvider, regional_fqdn: str) -> None:
        """The HTTPS health check of ``/api/health`` on the regional name."""
        health_check = aws.Route53HealthCheck(
            self,
            "health-check",
            provider=provider,
            type="HTTPS",
            # The record's name as a reference: the checks start once the name resolves.
            fqdn=regional_fqdn,
            port=443,
            resource_path=HEALTH_CHECK_PATH,
            failure_threshold=config.health_check_failure_threshold,
            request_interval=config.health_check_interval_seconds,
            measure_latency=True,
            # Without SNI, API Gateway cannot tell which custom domain's certificate to present.
            enable_sni=True,
            tags={"Name": config.namer.name("health", config.region, kind="tag_value")},
            # The interval and latency measuring cannot change in place: a replacement must exist
            # before the latency record lets go of the old check, or the record would point at a
            # deleted check in between.
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        self._health_check_id = health_check.id

    def _latency_record(
        self,
        config: CustomDomainConfig,
        provider: aws.AwsProvider,
        global_target: str,
        global_zone: str,
        serves_after: list[Any],
    ) -> None:
        """This region's latency-routed alias record of the global name, left out of Route 53's
        answers while the health check fails."""
        region = config.region
        # A records only: a REGIONAL custom domain answers on IPv4 unless its ip_address_type is
        # dualstack, so an AAAA alias would send IPv6 clients nowhere.
        aws.Route53Record(
            self,
            "latency-record-a",
            provider=provider,
            zone_id=config.hosted_zone_id,
            name=self._domain_name,
            type="A",
            set_identifier=region,
            latency_routing_policy=aws.Route53RecordLatencyRoutingPolicy(region=region),
            health_check_id=self._health_check_id,
            alias=aws.Route53RecordAlias(name=global_target, zone_id=global_zone, evaluate_target_health=True),
            depends_on=serves_after,
        )

    def _validation_records(
        self,
        certificate: aws.AcmCertificate,
        provider: aws.AwsProvider,
        zone_id: str,
        shared_validation_fqdn: str | None,
    ) -> aws.Route53Record:
        """The certificate's DNS validation records, keyed by domain name (known at plan time, as
        for_each requires): all of them for the owner of the shared record, the regional name's
        only for the others."""
        # Over the set itself, as the provider's documentation does: cdktf's from_complex_list wraps it
        # in tolist(), and a list of a new certificate's options is wholly unknown at plan time, so
        # the plan of a first deploy (or of a replacement) fails with "Invalid for_each argument".
        # The domain names are known at plan time; the record values are not, and need not be.
        others = "" if shared_validation_fqdn is None else f" if dvo.domain_name != {json.dumps(self._domain_name)}"
        options = TerraformIterator.from_map(
            Token.as_any_map(
                "${{ for dvo in "
                + certificate.fqn
                + ".domain_validation_options : dvo.domain_name => dvo"
                + others
                + " }}"
            )
        )
        records = aws.Route53Record(
            self,
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
        self._validation_fqdn = (
            Fn.lookup_nested(Token.as_any(records.fqn), [self._domain_name, "fqdn"])
            if shared_validation_fqdn is None
            else shared_validation_fqdn
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
        reference to the owner's record)."""
        return self._validation_fqdn

    @property
    def health_check_id(self) -> str:
        return self._health_check_id
