from shortcutbench.results.tables import Table, write_tables


def test_markdown_and_csv(tmp_path):
    t = Table("x", "Title", ["a", "b"], [["1", "p|q"], ["2", "r,s"]], ["note"], ["figures/x.png"])
    write_tables([t], tmp_path)
    md = (tmp_path / "x.md").read_text()
    assert "| a | b |" in md and "p\\|q" in md and "note" in md and "![x](figures/x.png)" in md
    assert (tmp_path / "x.csv").read_text() == 'a,b\n1,p|q\n2,"r,s"\n'
