"""Pure rules of the halls: scoring figures, opening hours, working days, cases' deadlines, GB/T 39046 records,
kiosk configs, tokens, quotas. No Flask, no SQL, no MQTT."""
