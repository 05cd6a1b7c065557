"""Domain adaptation of a trained retriever.

- :mod:`~hybrid_plugin.adaptation.parallel` -- (b) continued hybrid training with target-domain parallel text as
  X-Y pairs beside the model's own training collection (:func:`adapt_on_parallel_text`, :func:`without_texts_of`);
- :mod:`~hybrid_plugin.adaptation.denoising` -- (c) TSDAE on target-domain sentences mixed with hybrid batches in
  one run (:func:`adapt_with_denoising`), its step order in :mod:`~hybrid_plugin.adaptation.step_mixer`.

Adaptation (a), language-bias removal fitted on target-domain text, is :mod:`hybrid_plugin.debias`. The study that
compares them is :mod:`hybrid_plugin.domain`. Both modules import torch: import them by name.
"""
