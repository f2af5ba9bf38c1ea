"""Small hand-built models with known answers (the one-conv net follows the description of
Captum's BasicModel_ConvNet_One_Conv in research/interpretability.md §2)."""
import torch
import torch.nn as nn


class OneConv(nn.Module):
    """conv1: two all-ones 3×3 filters, biases −50 and −75; relu1; flatten 2×2×2 → fc1 (rows
    [1,1,1,1,1,−1,−1,−1]); relu2."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3)
        self.relu1 = nn.ReLU(inplace=inplace)
        self.fc1 = nn.Linear(8, 4)
        self.relu2 = nn.ReLU(inplace=inplace)
        with torch.no_grad():
            self.conv1.weight.fill_(1.0)
            self.conv1.bias.copy_(torch.tensor([-50.0, -75.0]))
            self.fc1.weight.copy_(torch.tensor([[1.0] * 5 + [-1.0] * 3] * 4))
            self.fc1.bias.zero_()

    def forward(self, x):
        return self.relu2(self.fc1(self.relu1(self.conv1(x)).reshape(-1, 8)))


class Linear(nn.Module):
    def __init__(self, w: torch.Tensor, b: float = 0.3):
        super().__init__()
        self.w = nn.Parameter(w.clone())
        self.b = b

    def forward(self, x):
        out = (x * self.w).flatten(1).sum(1) + self.b
        return torch.stack([out, -out], 1)


class SumSquares(nn.Module):
    def forward(self, x):
        out = x.pow(2).flatten(1).sum(1)
        return torch.stack([out, -out], 1)


def gap_fc_net(seed: int = 0, inplace: bool = False) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=inplace), nn.Conv2d(8, 6, 3, padding=1),
                         nn.ReLU(inplace=inplace), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 5)).eval()
