"""Recommender machine learning: data, models, metrics and evaluation. Imports no Django.

Models follow one interface (:class:`recommender.ml.base.Recommender`): popularity, ALS and BPR
(Hu et al. 2008; Rendle et al. 2009, via ``implicit``), and sequence models trained with full
softmax cross-entropy (SASRec, Kang & McAuley 2018, with the loss of Klenitskiy & Vasilev 2023),
their settings searched on validation (``search``).
"""
