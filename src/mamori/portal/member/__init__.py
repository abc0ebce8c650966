"""The privacy center's member room: sign-in by e-mailed code, sessions, "what you hold about me"."""
