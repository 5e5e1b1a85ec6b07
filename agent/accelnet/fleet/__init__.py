"""accelnet-fleet: many VMs diagnosed through Azure Run Command (read-only)."""
