"""Any language by code: its record, typology, URIEL distances, and the choice of training languages."""
from hybrid_sweep.languages.codes import canonical_codes, variety_labels
from hybrid_sweep.languages.registry import Language, get_language
from hybrid_sweep.languages.selection import NESTED_ORDER, choose_train_languages, select_languages, stratified
from hybrid_sweep.languages.typology import DISTANCE_FEATURES, distance_matrix, mean_pairwise_distance, uriel_distance

__all__ = [
    "DISTANCE_FEATURES",
    "Language",
    "NESTED_ORDER",
    "canonical_codes",
    "choose_train_languages",
    "distance_matrix",
    "get_language",
    "mean_pairwise_distance",
    "select_languages",
    "stratified",
    "uriel_distance",
    "variety_labels",
]
