"""PageNumberToTotal, OffsetToTotal and StrictJsonDecoder."""

import pytest
import requests
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors_shared.decoding import StrictJsonDecoder
from connectors_shared.pagination import OffsetToTotal, PageNumberToTotal


def answer(body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = body
    return response


def json_answer(text: str) -> requests.Response:
    return answer(text.encode())


def pages(total, per_page=10, start=0, counts="records", path=("pagination", "total")):
    return PageNumberToTotal(config={}, page_size=per_page, parameters={}, start_from_page=start,
                             total_path=list(path), total_counts=counts)


@pytest.mark.parametrize(
    "total, page, size, expected",
    [
        (30, 0, 10, 1), (30, 1, 10, 2), (30, 2, 10, None),  # exactly three full pages: no fourth request
        (25, 2, 5, None),  # short page
        (None, 0, 10, 1),  # no total: keep going while pages are full
        (100, 0, 0, None),  # empty page
        (0, 0, 10, 1), (5, 1, 10, 2),  # a total already overtaken is wrong: go on until a short page
    ],
)
def test_page_number_stops_at_total_or_short_or_empty_page(total, page, size, expected):
    body = '{"pagination": {"total": %s}}' % ("null" if total is None else total)
    token = pages(total).next_page_token(json_answer(body), size, None, page)
    assert token == expected


def test_page_number_with_total_pages_one_based():
    strategy = pages(None, per_page=50, start=1, counts="pages", path=("pagination", "total_pages"))
    assert strategy.initial_token == 1
    body = '{"pagination": {"total_pages": 2}}'
    assert strategy.next_page_token(json_answer(body), 50, None, 1) == 2
    assert strategy.next_page_token(json_answer(body), 50, None, 2) is None


def test_page_size_is_interpolated_from_config():
    strategy = PageNumberToTotal(config={"page_size": 7}, page_size="{{ config['page_size'] }}", parameters={})
    assert strategy.get_page_size() == 7


@pytest.mark.parametrize("offset, size, total, expected", [(0, 10, 25, 10), (10, 10, 25, 20), (20, 5, 25, None),
                                                            (10, 10, 20, None), (0, 10, None, 10),
                                                            (0, 10, 0, 10), (10, 10, 15, 20)])
def test_offset_stops_at_total_count(offset, size, total, expected):
    strategy = OffsetToTotal(config={}, page_size=10, parameters={}, total_path=["totalCount"])
    body = '{"totalCount": %s}' % ("null" if total is None else total)
    assert strategy.next_page_token(json_answer(body), size, None, offset) == expected


def test_decoder_parses_once_and_yields_list_items():
    decoder = StrictJsonDecoder()
    response = json_answer('[{"a": 1}, {"a": 2}]')
    assert list(decoder.decode(response)) == [{"a": 1}, {"a": 2}]
    response._content = b"garbage"  # a second decode reuses the first parse
    assert list(decoder.decode(response)) == [{"a": 1}, {"a": 2}]


def test_decoder_fails_loudly_on_malformed_json():
    response = json_answer('{"results": [')
    response.request = requests.Request("GET", "https://api.example.com/orders?page=2").prepare()
    with pytest.raises(AirbyteTracedException, match="not valid JSON"):
        list(StrictJsonDecoder().decode(response))


def test_field_path_extractor_follows_literal_keys():
    from connectors_shared.extraction import FieldPathExtractor

    extractor = FieldPathExtractor(field_path=["data", "rows"])
    assert list(extractor.extract_records(json_answer('{"data": {"rows": [{"id": 1}, {"id": 2}]}}'))) == [{"id": 1}, {"id": 2}]
    assert list(extractor.extract_records(json_answer('{"data": {"rows": {"id": 1}}}'))) == [{"id": 1}]
    assert list(extractor.extract_records(json_answer('{"data": null}'))) == []
    assert list(extractor.extract_records(json_answer('{"other": []}'))) == []
    with pytest.raises(ValueError, match="literal keys"):
        FieldPathExtractor(field_path=["data", "*"])
