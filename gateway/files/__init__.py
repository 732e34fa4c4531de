"""Evidence and documents as real files (佐证材料文件): a content-addressed blob store
(``store``, ``s3``), typing by content (``sniff``), metadata stripped from images
(``redact``), the gateway's index of who may see what (``index``, ``access``), upload and
download (``intake``, ``routes``), and the check that an action's evidence exists
(``evidence``)."""
