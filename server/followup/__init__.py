"""What follows a bad review or an anomaly: alert rules and the alerts they raise, and their delivery."""
