"""Spectral clustering that gives the same answer every time.

scikit-learn's spectral embedding solves for the smallest eigenvectors of
the normalised Laplacian with ARPACK. Where an eigenvalue is repeated, ARPACK
returns an arbitrary basis of its eigenspace, and that basis can change from
call to call even with a fixed ``random_state``. Duplicated points make such
eigenvalues: each connected component of the kNN graph adds one at zero, and
a clique of identical points adds one of high multiplicity. The spectral
candidates of a search, of a training task and of
:class:`~sklearn_tcm.CriticClustering`'s pool then changed from run to run,
and so did a trained metric.

Here each connected component is solved on its own (its zero eigenvalue is
simple), by LAPACK's dense symmetric solver, deterministic whatever the
multiplicities, up to :data:`DENSE_MAX_NODES` nodes, and by ARPACK in
shift-invert mode above (where only a repeated eigenvalue among the
smallest, rare on so many points, is left to it); the components'
eigenpairs are then merged by eigenvalue and each vector's sign fixed. On a
connected graph the eigenvectors are scikit-learn's up to sign; where an
eigenvalue is repeated, the basis is pinned down.
"""

import numpy as np
import scipy.linalg
from scipy.sparse import csgraph, csr_matrix, issparse
from scipy.sparse.linalg import eigsh
from sklearn.neighbors import kneighbors_graph

__all__ = ["spectral_embedding", "cluster_qr", "spectral_clustering", "DENSE_MAX_NODES"]

#: Components up to this many nodes are solved densely (deterministic LAPACK);
#: larger ones by ARPACK, whose answer is fixed once the eigenvalue is simple.
DENSE_MAX_NODES = 1000


def _smallest_eigenpairs(laplacian, n_vectors, seed):
    """``(values, vectors)`` of the ``n_vectors`` smallest eigenvalues of a Laplacian."""
    n = laplacian.shape[0]
    if n <= DENSE_MAX_NODES or n_vectors >= n - 1:
        dense = laplacian.toarray() if issparse(laplacian) else np.asarray(laplacian)
        return scipy.linalg.eigh(dense, subset_by_index=[0, n_vectors - 1])
    # a small negative shift: the Laplacian is singular (scikit-learn's choice too)
    v0 = np.random.default_rng(seed).uniform(-1, 1, n)
    values, vectors = eigsh(laplacian, k=n_vectors, sigma=-1e-5, which="LM", v0=v0)
    order = np.argsort(values, kind="stable")
    return values[order], vectors[:, order]


def _fix_signs(vectors):
    """Each column's sign chosen so that its largest entry in magnitude is positive."""
    rows = np.argmax(np.abs(vectors), axis=0)
    signs = np.sign(vectors[rows, np.arange(vectors.shape[1])])
    return vectors * np.where(signs == 0, 1.0, signs)


def spectral_embedding(affinity, n_components, random_state=None):
    """The ``n_components`` smallest eigenvectors of the normalised Laplacian, per point.

    As :func:`sklearn.manifold.spectral_embedding` with
    ``norm_laplacian=True, drop_first=False`` (each eigenvector scaled by
    ``D^-1/2``), but the same on every call (see the module's docstring).

    Parameters
    ----------
    affinity : sparse matrix or ndarray of shape (n_samples, n_samples)
        Symmetric, non-negative affinities.
    n_components : int
        Number of eigenvectors, at most ``n_samples``.
    random_state : int or None, default=None
        Start vector of ARPACK for components above :data:`DENSE_MAX_NODES`
        nodes (the answer does not depend on it beyond rounding).

    Returns
    -------
    embedding : ndarray of shape (n_samples, n_components)
        Columns in increasing order of eigenvalue (ties: component of the
        lowest-numbered point first).
    """
    affinity = csr_matrix(affinity, dtype=np.float64)
    n = affinity.shape[0]
    if not 1 <= n_components <= n:
        raise ValueError(f"n_components must be in [1, {n}]; got {n_components}.")
    seed = int(np.random.default_rng(random_state).integers(2**31 - 1))
    _, component = csgraph.connected_components(affinity, directed=False)
    values, columns = [], []
    for c in range(int(component.max()) + 1):
        nodes = np.flatnonzero(component == c)
        if nodes.size == 1:  # an isolated node: its own eigenvalue 0, itself
            values.append(np.zeros(1))
            columns.append((nodes, np.ones((1, 1))))
            continue
        laplacian, degree = csgraph.laplacian(affinity[nodes][:, nodes], normed=True,
                                              return_diag=True)
        found, vectors = _smallest_eigenpairs(laplacian, min(n_components, nodes.size), seed)
        values.append(found)
        columns.append((nodes, vectors / degree[:, None]))
    # by eigenvalue, equal ones (to rounding: zero is found as +-1e-16) by component
    order = np.lexsort((np.repeat(np.arange(len(values)), [v.size for v in values]),
                        np.round(np.concatenate(values), 10)))[:n_components]
    embedding = np.zeros((n, n_components))
    owners = [(nodes, vectors[:, j]) for nodes, vectors in columns
              for j in range(vectors.shape[1])]
    for out, index in enumerate(order):
        nodes, vector = owners[index]
        embedding[nodes, out] = vector
    return _fix_signs(embedding)


def cluster_qr(vectors):
    """Labels from a spectral embedding by column-pivoted QR (Damle, Minden and Ying, 2019).

    The pivoted QR of the embedding's transpose picks ``k`` representative
    points; the embedding rotated onto them gives each point's cluster by
    its largest coordinate. Deterministic, no k-means.
    """
    k = vectors.shape[1]
    _, _, pivots = scipy.linalg.qr(vectors.T, pivoting=True)
    left, _, right = scipy.linalg.svd(vectors[pivots[:k], :].T)
    return np.abs(vectors @ (left @ right)).argmax(axis=1)


def spectral_clustering(X, n_clusters, n_neighbors=10, random_state=None):
    """Spectral clustering of a kNN connectivity graph (as scikit-learn's), reproducibly.

    The graph and the labelling are those of
    ``SpectralClustering(n_clusters, affinity="nearest_neighbors",
    n_neighbors=n_neighbors, assign_labels="cluster_qr")``: kNN
    connectivity with each point its own neighbour, symmetrised, then
    :func:`spectral_embedding` and :func:`cluster_qr`.

    Returns
    -------
    labels : ndarray of shape (n_samples,)
    """
    graph = kneighbors_graph(X, n_neighbors, include_self=True)
    affinity = 0.5 * (graph + graph.T)
    return cluster_qr(spectral_embedding(affinity, n_clusters, random_state))
