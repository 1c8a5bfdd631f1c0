"""The reference DLRM: sparse arch (embeddings), dense arch (bottom MLP), interaction, over arch.

- dlrm.py: ``build_model(spec, backend, device, seed)`` and ``build_shardable_model`` (for
  torchrec's DistributedModelParallel); the ``DLRM`` module (``forward(batch) -> logits [B]``);
- embeddings.py / embeddings_torchrec.py: the two embedding backends (pure PyTorch; TorchRec +
  fbgemm, imported lazily so the torch path never needs them);
- tbe.py, tbe_ops.py, tbe_triton*.py: the pure-PyTorch backend's tables: one batched weight, the
  sparse optimizer fused into backward, an optional Triton kernel for it on CUDA;
- interactions/: dot, dcn (DCNv2), wukong, one module each, discovered by name;
- mlp.py, init.py: the MLPs and the seeded initialisation; arithmetic.py: torch-free counting;
- optim.py: ``build_optimizer(model, spec)``: dense torch.optim + the tables' fused sparse optimizer.

Parameter and FLOP accounting per component is recscale/accounting.py.
"""
