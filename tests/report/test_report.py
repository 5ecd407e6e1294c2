

def test_bold_markers_only_after_escaping():
    from mmxsim.results import Section
    from mmxsim.report.html import _section

    html = _section(Section("k", "T", paragraphs=["a **b** <script>x</script> **<i>**"]))
    assert "<strong>b</strong>" in html and "<script>" not in html and "&lt;script&gt;" in html
