"""CloudFront in front of the one address (``cdn_enabled``): the distribution answers on the domain
name and sends every request, uncached, to the latency-routed regions under their origin name."""

from __future__ import annotations

from dataclasses import dataclass

from ..cdk import aws
from ..cdk.core import Construct
from .domain import CustomDomainConfig, public_certificate
from .monitoring import with_runbook
from .naming import Namer
from .rules import CDN_PRICE_CLASS, LOG_RETENTION
from .waf import CLOUDFRONT_REGION, ORIGIN_HEADER, WafConfig, WebApplicationFirewall

ORIGIN_ID = "regional-apis"
# AWS managed policies, found by name: an API's answers are not cached, and the function sees every
# header, cookie and query string of the caller but the Host header (the origin's custom domain is
# named origin.<domain>, and API Gateway chooses the domain by Host).
CACHE_POLICY = "Managed-CachingDisabled"
ORIGIN_REQUEST_POLICY = "Managed-AllViewerExceptHostHeader"
RESPONSE_HEADERS_POLICY = "Managed-SecurityHeadersPolicy"
# The share of 5XX answers (percent, over 5 minutes, twice) that pages someone.
CDN_5XX_PERCENT = 5
ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


@dataclass(frozen=True)
class Origin:
    """Where the distribution sends requests (a reference to the routed name) and the header value
    it sends (a reference to the secret's value)."""

    domain_name: str
    secret: str


@dataclass(frozen=True, kw_only=True)
class CdnConfig:
    """namer: names its resources. domain_name, hosted_zone_id: the one name the distribution
    answers on and its Route 53 public hosted zone (checked as ``CustomDomainConfig`` checks them).
    price_class: the edge locations that serve callers. Default ``"PriceClass_All"``.
    log_retention_days: of the access log group. Default 365."""

    namer: Namer
    domain_name: str
    hosted_zone_id: str
    price_class: str = "PriceClass_All"
    log_retention_days: int = 365

    def __post_init__(self) -> None:
        CustomDomainConfig(
            namer=self.namer, region=CLOUDFRONT_REGION, domain_name=self.domain_name, hosted_zone_id=self.hosted_zone_id
        )
        CDN_PRICE_CLASS.check("price_class", self.price_class)
        LOG_RETENTION.check("log_retention_days", self.log_retention_days)


class Distribution(Construct):
    """Creates, through a us-east-1 provider (CloudFront's certificates and web ACLs live there): a
    certificate for the domain name (DNS-validated by the record the home region's stack writes for
    its own certificate: ACM's validation record for a name is the same in every region); a web ACL
    of CLOUDFRONT scope (``waf``'s rules: managed groups, the per-IP rate limit, the body limit); the
    distribution (TLS 1.2 or later, SNI, HTTP/2 and HTTP/3, IPv6, HTTPS only) whose one origin is
    ``origin.{domain_name}`` over HTTPS with the ``x-origin-verify`` header, caching disabled, every
    viewer header but Host forwarded, AWS's security headers added; its access logs delivered to a
    KMS-encrypted log group; and the domain name's AAAA alias record to it (its A records are the
    routing's: ``alias_target``).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: CdnConfig,
        waf: WafConfig,
        provider: aws.AwsProvider,
        kms_key_arn: str,
        origin_secret: str,
        origin_domain_name: str,
    ) -> None:
        """``waf``: of CLOUDFRONT scope (``for_cloudfront``); ``origin_secret``: a reference to the
        value the regional WAFs require; ``origin_domain_name``: a reference to the name of the
        records that route to the regions (``origin.{domain_name}``), so the distribution waits for
        them."""
        super().__init__(scope, id_)
        if not waf.for_cloudfront:
            raise ValueError("waf: a distribution's web ACL must be for_cloudfront")
        certificate = self._certificate(config, provider)
        acl = WebApplicationFirewall(self, "waf", config=waf, provider=provider, kms_key_arn=kms_key_arn)
        distribution = self._distribution(
            config, provider, certificate, acl.web_acl_arn, Origin(origin_domain_name, origin_secret)
        )
        self._access_logs(config, provider, distribution.arn, kms_key_arn)
        # IPv6 callers: the name's A records are the routing's (latency records that alias the
        # distribution, LatencyRouting.route_to_distribution), its AAAA record is this one.
        aws.Route53Record(
            self,
            "record-aaaa",
            provider=provider,
            zone_id=config.hosted_zone_id,
            name=config.domain_name,
            type="AAAA",
            alias=aws.Route53RecordAlias(
                name=distribution.domain_name, zone_id=distribution.hosted_zone_id, evaluate_target_health=False
            ),
        )
        self._alias_target = (distribution.domain_name, distribution.hosted_zone_id)
        self._distribution_id = distribution.id

    def _certificate(self, config: CdnConfig, provider: aws.AwsProvider) -> tuple[str, str]:
        """The certificate's name and, once issued, ARN (references, so the distribution waits)."""
        certificate = public_certificate(self, provider=provider, domain_name=config.domain_name)
        # The home region's stack, deployed before this one, writes the name's validation record:
        # writing it here too would make two owners of one record.
        validation = aws.AcmCertificateValidation(
            self, "certificate-validation", provider=provider, certificate_arn=certificate.arn
        )
        return certificate.domain_name, validation.certificate_arn

    def _distribution(
        self,
        config: CdnConfig,
        provider: aws.AwsProvider,
        certificate: tuple[str, str],
        web_acl_arn: str,
        origin: Origin,
    ) -> aws.CloudfrontDistribution:
        policies = {
            name: kind(self, name.lower(), provider=provider, name=name).id
            for name, kind in (
                (CACHE_POLICY, aws.DataAwsCloudfrontCachePolicy),
                (ORIGIN_REQUEST_POLICY, aws.DataAwsCloudfrontOriginRequestPolicy),
                (RESPONSE_HEADERS_POLICY, aws.DataAwsCloudfrontResponseHeadersPolicy),
            )
        }
        return aws.CloudfrontDistribution(
            self,
            "distribution",
            provider=provider,
            enabled=True,
            comment=f"{config.domain_name}: the regions' APIs",
            aliases=[certificate[0]],
            price_class=config.price_class,
            http_version="http2and3",
            is_ipv6_enabled=True,
            web_acl_id=web_acl_arn,
            origin=[
                aws.CloudfrontDistributionOrigin(
                    origin_id=ORIGIN_ID,
                    domain_name=origin.domain_name,
                    custom_origin_config=aws.CloudfrontDistributionOriginCustomOriginConfig(
                        http_port=80,
                        https_port=443,
                        origin_protocol_policy="https-only",
                        origin_ssl_protocols=["TLSv1.2"],
                    ),
                    custom_header=[
                        aws.CloudfrontDistributionOriginCustomHeader(name=ORIGIN_HEADER, value=origin.secret)
                    ],
                )
            ],
            default_cache_behavior=aws.CloudfrontDistributionDefaultCacheBehavior(
                target_origin_id=ORIGIN_ID,
                allowed_methods=list(ALL_METHODS),
                cached_methods=["GET", "HEAD"],
                # An API's callers do not follow a redirect of a POST: plain HTTP is refused.
                viewer_protocol_policy="https-only",
                cache_policy_id=policies[CACHE_POLICY],
                origin_request_policy_id=policies[ORIGIN_REQUEST_POLICY],
                response_headers_policy_id=policies[RESPONSE_HEADERS_POLICY],
            ),
            restrictions=aws.CloudfrontDistributionRestrictions(
                geo_restriction=aws.CloudfrontDistributionRestrictionsGeoRestriction(restriction_type="none")
            ),
            viewer_certificate=aws.CloudfrontDistributionViewerCertificate(
                acm_certificate_arn=certificate[1],
                ssl_support_method="sni-only",
                minimum_protocol_version="TLSv1.2_2021",
            ),
        )

    def _access_logs(
        self, config: CdnConfig, provider: aws.AwsProvider, distribution_arn: str, kms_key_arn: str
    ) -> None:
        """Access logs (CloudFront's standard logging v2) to a KMS-encrypted log group in us-east-1:
        no bucket with ACLs, as the legacy logging would need. CloudWatch Logs gives the group the
        resource policy the delivery needs when the delivery is created."""
        name = config.namer.global_name("cdn-access", kind="log_group")
        delivery_name = config.namer.global_name("cdn-access", kind="log_delivery")
        log_group = aws.CloudwatchLogGroup(
            self,
            "access-log-group",
            provider=provider,
            # Under /aws/vendedlogs/, CloudWatch Logs keeps the delivery's resource policy small.
            name=f"/aws/vendedlogs/cloudfront/{name}",
            retention_in_days=config.log_retention_days,
            kms_key_id=kms_key_arn,
        )
        source = aws.CloudwatchLogDeliverySource(
            self,
            "access-log-source",
            provider=provider,
            name=delivery_name,
            log_type="ACCESS_LOGS",
            resource_arn=distribution_arn,
        )
        destination = aws.CloudwatchLogDeliveryDestination(
            self,
            "access-log-destination",
            provider=provider,
            name=delivery_name,
            # Said, not left to the service: the provider replaces a destination whose format changes.
            output_format="json",
            delivery_destination_configuration=[
                aws.CloudwatchLogDeliveryDestinationDeliveryDestinationConfiguration(
                    destination_resource_arn=log_group.arn
                )
            ],
        )
        aws.CloudwatchLogDelivery(
            self,
            "access-log-delivery",
            provider=provider,
            delivery_source_name=source.name,
            delivery_destination_arn=destination.arn,
        )

    def alarm_on_errors(self, *, provider: aws.AwsProvider, namer: Namer, topic_arn: str) -> None:
        """An alarm when 5XX answers pass ``CDN_5XX_PERCENT`` of the distribution's requests (its
        own and the origin's: the path callers take, which no health check or canary takes), in
        us-east-1, where CloudFront publishes its metrics."""
        aws.CloudwatchMetricAlarm(
            self,
            "errors-alarm",
            provider=provider,
            alarm_name=namer.name("cdn-5xx", CLOUDFRONT_REGION, kind="cloudwatch_alarm"),
            alarm_description=with_runbook(
                f"Over {CDN_5XX_PERCENT}% of the requests through CloudFront answered 5XX for 10 minutes: callers "
                "of the one address see errors",
                "cdn-5xx",
            ),
            namespace="AWS/CloudFront",
            metric_name="5xxErrorRate",
            dimensions={"DistributionId": self._distribution_id, "Region": "Global"},
            statistic="Average",
            period=300,
            evaluation_periods=2,
            threshold=CDN_5XX_PERCENT,
            comparison_operator="GreaterThanThreshold",
            # No requests, no rate: not an error.
            treat_missing_data="notBreaching",
            alarm_actions=[topic_arn],
            ok_actions=[topic_arn],
        )

    @property
    def alias_target(self) -> tuple[str, str]:
        """The distribution's domain name and hosted zone id (references), for alias records."""
        return self._alias_target

    @property
    def distribution_id(self) -> str:
        return self._distribution_id
