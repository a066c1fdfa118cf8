"""Built images: sources (docker-archive, OCI layout and archive), streamed layers, the final filesystem."""
