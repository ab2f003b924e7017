"""receiptcore's models side: three pipelines that build artifacts and publish each with a
signed receipt, a build manifest and a ledger entry.

- :func:`pipelines.embed.embed`: a corpus folder -> chunks -> embeddings + chunk table;
- :func:`pipelines.index.build_index`: verified embeddings -> a faiss and a usearch index;
- :func:`pipelines.lora.train_lora`: a verified base model + chunk table -> a LoRA adapter.

Each is also a command (``receiptcore pipeline embed|index|lora``). This package calls the
library (publish, verify, manifests, hashing); the library never imports it. Heavy libraries
(torch, sentence-transformers, faiss, usearch, peft) are imported inside the functions that use
them, so ``receiptcore --help`` stays fast.
"""
