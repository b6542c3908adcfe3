"""CS224n's word2vec ``dataset`` as the cost search makes it (``properties.user_cost_args``)."""

DRAWN = (0, 2, 2, 1)   # what the dataset's sampleTokenIdx() returns, in turn (a repeat in it)


class TokenDataset:
    """CS224n's ``dataset``: ``sampleTokenIdx()`` gives the indices :data:`DRAWN` in turn,
    from the start at every call of the cost (so each finite-difference evaluation samples
    the same negatives); ``tokens()`` the word -> index dict of that many words."""

    def __init__(self, vocabulary=3):
        self.vocabulary, self.turn = vocabulary, 0

    def reset(self):
        self.turn = 0

    def sampleTokenIdx(self):
        value = DRAWN[self.turn % len(DRAWN)] % self.vocabulary
        self.turn += 1
        return value

    sample_token_idx = sampleTokenIdx

    def tokens(self):
        return {f"w{i}": i for i in range(self.vocabulary)}
