import torch

from shortcutbench.glm.decision import entry_order, eta_squared, select_sparse, topk_accuracy, topk_mask
from shortcutbench.glm.path import PathPoint


def _pt(nnz_w, acc):
    return PathPoint(lam=1.0, weight=nnz_w, bias=torch.zeros(nnz_w.shape[0]), objective=1.0, gap=0.0, epochs=1, lr=1.0,
                     nnz_per_class=[int(v) for v in (nnz_w != 0).sum(1)], metrics={"acc_val": acc}, time_s=0.0,
                     stopped_by="gap")


def test_select_sparsest_within_tolerance():
    w = [torch.zeros(2, 4), torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 0]]), torch.tensor([[1.0, 1, 0, 0], [0, 1, 0, 0]]),
         torch.ones(2, 4)]
    pts = [_pt(w[0], 0.10), _pt(w[1], 0.80), _pt(w[2], 0.90), _pt(w[3], 0.92)]
    assert select_sparse(pts, 0.05) == 2  # best 0.92: 0.90 qualifies, 0.80 does not
    assert select_sparse(pts, 0.20) == 1
    assert select_sparse(pts, 0.0) == 3


def test_topk_by_hand():
    W = torch.tensor([[3.0, -5.0, 1.0], [0.0, 0.0, 2.0]])
    assert topk_mask(W, 1).tolist() == [[False, True, False], [False, False, True]]
    assert topk_mask(W, 2).tolist() == [[True, True, False], [False, False, True]]  # zero weights never count
    X = torch.tensor([[1.0, 0.0, 0.0]])
    # full layer: scores (3, 0) → class 0; top-1: scores (0, 0) → argmax 0 as well; with x = e3: (1, 2) → 1
    assert topk_accuracy(W, torch.zeros(2), X, torch.tensor([0]), 1) == 1.0
    assert topk_accuracy(W, torch.zeros(2), torch.tensor([[0.0, 0.0, 1.0]]), torch.tensor([1]), 1) == 1.0


def test_entry_order():
    w = [torch.zeros(1, 3), torch.tensor([[0.0, 2.0, 0.0]]), torch.tensor([[1.0, 2.0, 0.0]])]
    assert entry_order([_pt(x, 0.5) for x in w]).tolist() == [[2, 1, 3]]


def test_eta_squared_by_hand():
    v = torch.tensor([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0], [6.0, 1.0]])
    g = torch.tensor([0, 0, 1, 1])
    # column 0: mean 3, total SS 20, group means 1 and 5 → between 2·4 + 2·4 = 16 → 0.8; constant column → 0
    torch.testing.assert_close(eta_squared(v, g), torch.tensor([0.8, 0.0], dtype=torch.float64))
