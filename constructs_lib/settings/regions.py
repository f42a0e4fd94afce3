"""The AWS regions this template knows, and the stable VPC address block of each.

The second octet of each region's default VPC CIDR (``10.<octet>.0.0/16``) is fixed per region, not
derived from the region's position in the configured list: adding or reordering regions must never
change an existing VPC's CIDR, because that replaces the VPC and everything in it. New regions get new
numbers; existing numbers never change.
"""

from __future__ import annotations

# Commercial-partition regions (the template builds ``arn:aws:`` ARNs; GovCloud and China need another
# partition and are refused rather than synthesized wrong).
REGION_OCTETS: dict[str, int] = {
    "us-east-1": 10,
    "us-east-2": 11,
    "us-west-1": 12,
    "us-west-2": 13,
    "ca-central-1": 14,
    "ca-west-1": 15,
    "mx-central-1": 16,
    "sa-east-1": 17,
    "eu-west-1": 20,
    "eu-west-2": 21,
    "eu-west-3": 22,
    "eu-central-1": 23,
    "eu-central-2": 24,
    "eu-north-1": 25,
    "eu-south-1": 26,
    "eu-south-2": 27,
    "il-central-1": 28,
    "me-south-1": 29,
    "me-central-1": 30,
    "af-south-1": 31,
    "ap-east-1": 40,
    "ap-east-2": 41,
    "ap-south-1": 42,
    "ap-south-2": 43,
    "ap-northeast-1": 44,
    "ap-northeast-2": 45,
    "ap-northeast-3": 46,
    "ap-southeast-1": 47,
    "ap-southeast-2": 48,
    "ap-southeast-3": 49,
    "ap-southeast-4": 50,
    "ap-southeast-5": 51,
    "ap-southeast-6": 52,
    "ap-southeast-7": 53,
}

KNOWN_REGIONS: tuple[str, ...] = tuple(sorted(REGION_OCTETS))


def default_vpc_cidr(region: str) -> str:
    """The default, non-overlapping VPC CIDR of a known region."""
    return f"10.{REGION_OCTETS[region]}.0.0/16"


# How AWS abbreviates the words of a region's name in its availability zone ids.
_ZONE_ID_WORDS = {
    "gov": "g",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "central": "c",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
}


def zone_id_prefix(region: str) -> str:
    """What a region's availability zone ids start with (``use1`` of ``use1-az1``): the country code,
    each word abbreviated, the number (``ap-southeast-2`` -> ``apse2``, ``us-gov-west-1`` -> ``usgw1``)."""
    country, *words, number = region.split("-")
    return country + "".join(_ZONE_ID_WORDS[word] for word in words) + number
