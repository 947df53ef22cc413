"""The office's side of field work: reading routes, messages to readers and their devices."""
