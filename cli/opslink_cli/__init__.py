"""OpsLink's operator CLI and local emulator (never shipped in a Lambda)."""
