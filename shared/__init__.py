"""Code the gateway, the extractor and the retriever share."""
