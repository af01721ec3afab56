"""CloudWatch's region display names (the `Region` field of SNS alarm notifications)
mapped to region codes. Used when a message carries no AlarmArn to read the code from."""

from __future__ import annotations

import re

_CODE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")

# CloudWatch writes "EU (…)" in notifications; the console now says "Europe (…)".
DISPLAY_NAMES: dict[str, str] = {
    "US East (N. Virginia)": "us-east-1",
    "US East (Ohio)": "us-east-2",
    "US West (N. California)": "us-west-1",
    "US West (Oregon)": "us-west-2",
    "Africa (Cape Town)": "af-south-1",
    "Asia Pacific (Hong Kong)": "ap-east-1",
    "Asia Pacific (Taipei)": "ap-east-2",
    "Asia Pacific (Mumbai)": "ap-south-1",
    "Asia Pacific (Hyderabad)": "ap-south-2",
    "Asia Pacific (Tokyo)": "ap-northeast-1",
    "Asia Pacific (Seoul)": "ap-northeast-2",
    "Asia Pacific (Osaka)": "ap-northeast-3",
    "Asia Pacific (Singapore)": "ap-southeast-1",
    "Asia Pacific (Sydney)": "ap-southeast-2",
    "Asia Pacific (Jakarta)": "ap-southeast-3",
    "Asia Pacific (Melbourne)": "ap-southeast-4",
    "Asia Pacific (Malaysia)": "ap-southeast-5",
    "Asia Pacific (Thailand)": "ap-southeast-7",
    "Canada (Central)": "ca-central-1",
    "Canada West (Calgary)": "ca-west-1",
    "EU (Frankfurt)": "eu-central-1",
    "EU (Zurich)": "eu-central-2",
    "EU (Ireland)": "eu-west-1",
    "EU (London)": "eu-west-2",
    "EU (Paris)": "eu-west-3",
    "EU (Milan)": "eu-south-1",
    "EU (Spain)": "eu-south-2",
    "EU (Stockholm)": "eu-north-1",
    "Israel (Tel Aviv)": "il-central-1",
    "Middle East (Bahrain)": "me-south-1",
    "Middle East (UAE)": "me-central-1",
    "Mexico (Central)": "mx-central-1",
    "South America (Sao Paulo)": "sa-east-1",
    "South America (São Paulo)": "sa-east-1",
    "AWS GovCloud (US-West)": "us-gov-west-1",
    "AWS GovCloud (US-East)": "us-gov-east-1",
    "AWS GovCloud (US)": "us-gov-west-1",
    "China (Beijing)": "cn-north-1",
    "China (Ningxia)": "cn-northwest-1",
}
_BY_LOWER = {k.lower(): v for k, v in DISPLAY_NAMES.items()}
_BY_LOWER |= {
    k.lower().replace("eu (", "europe ("): v for k, v in DISPLAY_NAMES.items() if k.startswith("EU")
}


# Older notifications write "Area - Place" ("EU - Ireland", "US - N. Virginia",
# "Asia Pacific - Tokyo"): the place names one region within its area.
_AREA = {"us": "us", "eu": "eu", "europe": "eu", "asia": "asia", "canada": "canada",
         "south": "south", "africa": "africa", "middle": "middle", "israel": "israel",
         "mexico": "mexico", "china": "china", "aws": "aws"}  # fmt: skip


def _by_place() -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for name, code in DISPLAY_NAMES.items():
        match = re.fullmatch(r"(.+?) \((.+)\)", name)
        if match:
            area = _AREA.get(match.group(1).split()[0].lower(), "")
            out[(area, match.group(2).lower())] = code
    return out


_BY_AREA_PLACE = _by_place()


def region_code(value: str) -> str | None:
    """`eu-west-1`, `EU (Ireland)`, `Europe (Ireland)` or `EU - Ireland` → `eu-west-1`;
    None when it is none of these."""
    text = " ".join(str(value).split())
    if _CODE.match(text):
        return text
    found = _BY_LOWER.get(text.lower())
    if found is not None:
        return found
    match = re.fullmatch(r"(.+?)\s*-\s*(.+)", text)
    if match is None:
        return None
    area = _AREA.get(match.group(1).split()[0].lower(), "")
    return _BY_AREA_PLACE.get((area, match.group(2).lower()))


def region_of_arn(arn: str | None) -> str | None:
    """The region field of an ARN (`arn:aws:sns:eu-west-1:…` → `eu-west-1`), else None."""
    parts = str(arn or "").split(":")
    if len(parts) > 4 and parts[0] == "arn" and _CODE.match(parts[3]):
        return parts[3]
    return None


def partition_of(arn: str | None) -> str | None:
    """The partition of any ARN (`aws`, `aws-cn`, `aws-us-gov`), else None."""
    parts = str(arn or "").split(":")
    if len(parts) > 2 and parts[0] == "arn" and re.fullmatch(r"aws[a-z-]*", parts[1]):
        return parts[1]
    return None


def partition_for_region(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
