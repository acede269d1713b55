"""The wire contract v1 that kiosk and server both import (standard library only)."""
