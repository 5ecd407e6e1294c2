

def test_bold_markers_only_after_escaping():
    from mmxsim.results import Section
    from mmxsim.report.html import _section

    html = _section(Section("k", "T", paragraphs=["a **b** <script>x</script> **<i>**"]))
    assert "<strong>b</strong>" in html and "<script>" not in html and "&lt;script&gt;" in html


def test_every_text_of_a_section_is_escaped():
    """Markup in any text of a section (title, paragraphs, table caption/header/cells, figure
    caption, assumptions) comes out as text: Python's own html.parser finds only the report's
    tags and reads every hostile string back verbatim."""
    from html.parser import HTMLParser

    from mmxsim.report.html import _section
    from mmxsim.results import Section, Table

    bad = ['<script>alert(1)</script>', '<img src=x onerror=alert(2)>', '"quoted" & <b>bold</b>']

    class P(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.text = [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)

        def handle_data(self, data):
            self.text.append(data)

    png = b"\x89PNG\r\n\x1a\n"
    sec = Section("k", bad[0], paragraphs=[bad[1]], tables=[Table(bad[2], (bad[0], "h"), [(bad[1], 1.5), (bad[2], bad[0])])],
                  figures=[(bad[2], png)], assumptions=[bad[0]])
    p = P()
    p.feed(_section(sec))
    assert set(p.tags) <= {"h2", "h3", "p", "table", "tr", "th", "td", "img", "ul", "li", "strong"}, p.tags
    assert "script" not in p.tags and "b" not in p.tags
    text = "".join(p.text)
    for s in bad:
        assert s in text
    assert text.count(bad[0]) >= 4 and text.count(bad[1]) >= 2 and text.count(bad[2]) >= 3
