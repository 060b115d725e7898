"""People of the manufacturer and its partners, the roles they hold, what each role may do, and sign-in."""
