"""The console: server-rendered pages of the gateway where a person signs in, gets keys and
sees what the service remembers, through the same services the API routes use."""
