"""HTTP adapters: the Lanmao wire interface and the JSON APIs. No business rule lives here."""
