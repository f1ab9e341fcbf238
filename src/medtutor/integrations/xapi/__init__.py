"""xAPI: learning events as statements to a Learning Record Store, through a durable outbox."""
