"""Reading orders, contacts and templates: paging, base URL choice, account filter and record shapes."""

import pytest

from builders import ACCOUNT_ID, DEMO_URL, OpenLetterRequest, config, contact, order, page, rows, template
from connectors_shared.testing import error_messages, failure_type, read
from source_openletter import SourceOpenletter


def data(output):
    return [message.record.data for message in output.records]


def without_top_level_nulls(record):
    """The CDK leaves top-level nulls out of record messages (a destination reads a missing field as null)."""
    return {key: value for key, value in record.items() if value is not None}


def ids(output):
    return [record["id"] for record in data(output)]


class TestPaging:
    @pytest.mark.parametrize("endpoint, stream", [("orders", "orders"), ("contacts", "contacts"), ("templates", "templates")])
    def test_given_count_reached_on_a_full_page_when_read_then_no_request_past_the_end(self, requests_mock, endpoint, stream):
        request = getattr(OpenLetterRequest, endpoint)
        requests_mock.get(request().page_size(2).page(0).url, json=page(rows(1, 2), count=4), complete_qs=True)
        # (1 + 1) * 2 >= 4: page 2 would be one request past the end, and is not mocked.
        requests_mock.get(request().page_size(2).page(1).url, json=page(rows(3, 4), count=4), complete_qs=True)
        output = read(SourceOpenletter, config(page_size=2), stream)
        assert ids(output) == ["1", "2", "3", "4"]
        assert requests_mock.call_count == 2
        assert not output.errors

    def test_given_short_last_page_when_read_then_stops(self, requests_mock):
        requests_mock.get(OpenLetterRequest.contacts().page_size(3).page(0).url, json=page(rows(1, 3), count=5), complete_qs=True)
        requests_mock.get(OpenLetterRequest.contacts().page_size(3).page(1).url, json=page(rows(4, 5), count=5), complete_qs=True)
        assert ids(read(SourceOpenletter, config(page_size=3), "contacts")) == ["1", "2", "3", "4", "5"]
        assert requests_mock.call_count == 2

    def test_given_count_larger_than_the_rows_when_a_page_is_empty_then_retried_and_the_stream_fails(
        self, requests_mock, no_waiting
    ):
        # An empty page while count says 7 more rows remain used to end the stream quietly: it is now retried a
        # bounded number of times (never a loop), then the stream fails naming it, keeping the page read before.
        requests_mock.get(OpenLetterRequest.orders().page_size(2).page(0).url, json=page(rows(1, 2), count=9), complete_qs=True)
        empty = requests_mock.get(OpenLetterRequest.orders().page_size(2).page(1).url, json=page([], count=9),
                                  complete_qs=True)
        output = read(SourceOpenletter, config(page_size=2), "orders")
        assert ids(output) == ["1", "2"]
        assert empty.call_count == 6  # the first try and 5 retries
        assert failure_type(output) == "transient_error"
        message = error_messages(output)
        assert "OpenLetter Connect" in message and "/api/v1/orders/" in message and "stream orders" in message
        assert "short page: 0 records where 2 were asked for" in message and "'data.count' says 9" in message
        assert output.errors[0].trace.error.stream_descriptor.name == "orders"

    def test_given_no_rows_when_read_then_one_request_and_no_records(self, requests_mock):
        requests_mock.get(OpenLetterRequest.templates().url, json=page([]), complete_qs=True)
        output = read(SourceOpenletter, config(), "templates")
        assert data(output) == [] and requests_mock.call_count == 1 and not output.errors

    def test_given_default_config_when_read_then_asks_for_pages_of_100_from_page_0(self, requests_mock):
        requests_mock.get(OpenLetterRequest.templates().url, json=page(rows(1, 100), count=150), complete_qs=True)
        requests_mock.get(OpenLetterRequest.templates().page(1).url, json=page(rows(101, 150), count=150), complete_qs=True)
        assert len(data(read(SourceOpenletter, config(), "templates"))) == 150
        assert [r.qs for r in requests_mock.request_history] == [
            {"page": ["0"], "pageSize": ["100"]},
            {"page": ["1"], "pageSize": ["100"]},
        ]


class TestBaseUrl:
    def test_given_demo_environment_when_read_then_calls_the_demo_api(self, requests_mock):
        requests_mock.get(OpenLetterRequest.orders(base_url=DEMO_URL).url, json=page([order("1")]), complete_qs=True)
        assert ids(read(SourceOpenletter, config(environment="demo"), "orders")) == ["1"]

    def test_given_base_url_with_path_and_trailing_slash_when_read_then_it_overrides_environment(self, requests_mock):
        base = "http://proxy.local/olc/api/v1/"
        requests_mock.get(OpenLetterRequest.contacts(base_url=base).url, json=page([contact("1")]), complete_qs=True)
        assert ids(read(SourceOpenletter, config(base_url=base, environment="demo"), "contacts")) == ["1"]
        assert requests_mock.last_request.path == "/olc/api/v1/contacts"

    def test_given_orders_when_read_then_the_documented_trailing_slash_is_kept(self, requests_mock):
        requests_mock.get(OpenLetterRequest.orders().url, json=page([order("1")]), complete_qs=True)
        read(SourceOpenletter, config(), "orders")
        assert requests_mock.last_request.path == "/api/v1/orders/"


class TestAccountFilter:
    @pytest.mark.parametrize("stream", ["orders", "contacts", "templates"])
    def test_given_account_id_when_read_then_sent_as_meta_account_id_on_every_page(self, requests_mock, stream):
        request = getattr(OpenLetterRequest, stream)
        requests_mock.get(request().page_size(1).account(ACCOUNT_ID).url, json=page(rows(1, 1), count=2), complete_qs=True)
        requests_mock.get(request().page_size(1).page(1).account(ACCOUNT_ID).url, json=page(rows(2, 2), count=2),
                          complete_qs=True)
        assert ids(read(SourceOpenletter, config(account_id=ACCOUNT_ID, page_size=1), stream)) == ["1", "2"]

    def test_given_numeric_account_id_when_read_then_sent_unchanged(self, requests_mock):
        requests_mock.get(OpenLetterRequest.orders().account("00123").url, json=page([]), complete_qs=True)
        assert not read(SourceOpenletter, config(account_id="00123"), "orders").errors

    def test_given_empty_account_id_when_read_then_no_filter_is_sent(self, requests_mock):
        requests_mock.get(OpenLetterRequest.orders().url, json=page([order("1")]), complete_qs=True)
        assert ids(read(SourceOpenletter, config(account_id=""), "orders")) == ["1"]


class TestRecords:
    def test_given_documented_order_when_read_then_nested_objects_are_kept_whole(self, requests_mock):
        sent = order("10")
        requests_mock.get(OpenLetterRequest.orders().url, json=page([sent]), complete_qs=True)
        [emitted] = data(read(SourceOpenletter, config(), "orders"))
        assert emitted == without_top_level_nulls(sent)
        assert emitted["contacts"][0]["contact"] == sent["contacts"][0]["contact"]

    def test_given_status_as_number_and_as_string_when_read_then_no_record_is_dropped_and_both_are_kept(self, requests_mock):
        requests_mock.get(OpenLetterRequest.orders().url,
                          json=page([order("1", status=10), order("2", status="On Hold"), order("3", status=None)]),
                          complete_qs=True)
        output = read(SourceOpenletter, config(), "orders")
        assert [(r["id"], r.get("status")) for r in data(output)] == [("1", 10), ("2", "On Hold"), ("3", None)]
        assert not output.errors

    def test_given_numbers_and_booleans_as_strings_when_read_then_normalized_and_unconvertible_kept(self, requests_mock):
        sent = order(12, isLiveMode="false")
        sent["contacts"][0].update(isDelivered="true", status="Mailed", orderId=12)
        sent["template"]["isShared"] = "sometimes"
        requests_mock.get(OpenLetterRequest.orders().url, json=page([sent, order("13", isLiveMode="n/a")]), complete_qs=True)
        first, second = data(read(SourceOpenletter, config(), "orders"))
        assert (first["id"], first["isLiveMode"]) == ("12", False)
        assert (first["contacts"][0]["isDelivered"], first["contacts"][0]["orderId"], first["contacts"][0]["status"]) == (
            True, "12", "Mailed")
        assert first["template"]["isShared"] == "sometimes"
        assert second["isLiveMode"] == "n/a"

    def test_given_fields_no_schema_declares_when_read_then_kept(self, requests_mock):
        sent = contact("5", source="OLC_CLIENT", tags=["vip"], customFields={"tier": {"level": 2}})
        requests_mock.get(OpenLetterRequest.contacts().url, json=page([sent]), complete_qs=True)
        [emitted] = data(read(SourceOpenletter, config(), "contacts"))
        assert emitted == sent

    def test_given_template_with_creator_when_read_then_kept(self, requests_mock):
        sent = template("8", isShared=True, brandNew=1)
        requests_mock.get(OpenLetterRequest.templates().url, json=page([sent]), complete_qs=True)
        assert data(read(SourceOpenletter, config(), "templates")) == [sent]
