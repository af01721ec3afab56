"""Suggested first steps per alert type, written into every ticket's description."""

from __future__ import annotations

STEPS: dict[str, tuple[str, ...]] = {
    "cpu_usage": (
        "Find the top processes on the affected hosts (`top -o %CPU`, `ps aux --sort=-%cpu | head`).",
        "Compare with the last deployment: a new release is the most common cause.",
        "If load is legitimate, scale out the Auto Scaling group; else restart the service.",
    ),
    "memory_usage": (
        "Check resident memory per process (`ps aux --sort=-rss | head`) and the OOM killer log (`dmesg -T | grep -i oom`).",
        "Look for a leak: memory growing steadily since the last restart.",
        "Restart the service or clear its caches; raise the instance size if the working set grew.",
    ),
    "disk_usage": (
        "Find what fills the disk (`df -h`, `du -xh / --max-depth=2 | sort -h | tail`).",
        "Rotate and compress logs; remove old artifacts and temporary files.",
        "Archive cold data to S3 or grow the volume if the growth is expected.",
    ),
    "network_latency": (
        "Check the load balancer's target response time and error counts per target.",
        "Test name resolution and reachability from an affected host (`dig`, `curl -w`).",
        "Review recent security group, NACL or route changes.",
    ),
    "database_connection": (
        "Compare current connections with max_connections; look for idle-in-transaction sessions.",
        "Check the application's connection pool settings and recent deploys.",
        "Fail over or restart the database only after the connection storm's source is known.",
    ),
    "health_check": (
        "Check which targets or instances fail and since when (EC2 status checks, target health).",
        "Read the service's logs around the first failure.",
        "Replace unhealthy instances; roll back if a deployment started the failures.",
    ),
}

GENERIC: tuple[str, ...] = (
    "Open the alarm in the CloudWatch console and look at the metric around the change.",
    "Check the service's recent deployments, configuration changes and logs.",
    "Escalate to the owning team if the cause is not found within the due time.",
)


def suggested_steps(alert_type: str) -> tuple[str, ...]:
    return STEPS.get(alert_type, GENERIC)
