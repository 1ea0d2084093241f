"""MNIST IDX reading (plain, gzipped, file://, http://) and the data cache."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import os
import threading
import unittest

import numpy as np

from fedkeeper import mnist, partition
from fedkeeper.data import DataCache
from fedkeeper.task import Source

from .support import a_task, temp_dir, write_idx


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


class IDXFiles(unittest.TestCase):
    def test_plain_and_gzipped_files_read_alike(self) -> None:
        folder = temp_dir(self)
        gz = mnist.load_raw(*dataclasses.astuple(write_idx(folder, 30, seed=4, gz=True)))
        plain_dir = os.path.join(folder, "plain")
        os.mkdir(plain_dir)
        src = write_idx(plain_dir, 30, seed=4, gz=False)
        plain = mnist.load_raw(src.images_url[len("file://"):], src.labels_url)  # a path works too
        np.testing.assert_array_equal(gz.pixels, plain.pixels)
        np.testing.assert_array_equal(gz.labels, plain.labels)
        share = gz.subset([3, 0])
        self.assertEqual(share.images.dtype, np.float32)
        np.testing.assert_array_equal(share.images[1], gz.pixels[0].astype(np.float32) / np.float32(255))
        np.testing.assert_array_equal(share.labels, gz.labels[[3, 0]])

    def test_over_http(self) -> None:
        folder = temp_dir(self)
        src = write_idx(folder, 12)
        handler = functools.partial(QuietHandler, directory=folder)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        raw = mnist.load_raw(base + os.path.basename(src.images_url), base + os.path.basename(src.labels_url))
        self.assertEqual(raw.pixels.shape, (12, 784))
        with self.assertRaisesRegex(mnist.DataError, "404"):
            mnist.fetch(base + "missing")

    def test_damaged_files_are_refused(self) -> None:
        head = (0x803).to_bytes(4, "big") + (2).to_bytes(4, "big")
        cases = {
            "wrong magic": (b"\x00\x00\x08\x04" + bytes(12), "not an IDX image file"),
            "wrong size": (head + (27).to_bytes(4, "big") + (28).to_bytes(4, "big"), "27x28"),
            "truncated": (head + (28).to_bytes(4, "big") * 2 + bytes(100), "read 2 images"),
            "short header": (b"\x00\x00", "header"),
        }
        for name, (data, want) in cases.items():
            with self.subTest(name):
                with self.assertRaisesRegex(mnist.DataError, want):
                    mnist.parse_images(data)
        with self.assertRaisesRegex(mnist.DataError, "label 12 of example 1 is not a digit"):
            mnist.parse_labels((0x801).to_bytes(4, "big") + (2).to_bytes(4, "big") + bytes([1, 12]))
        with self.assertRaisesRegex(mnist.DataError, "no data location"):
            mnist.fetch("")


class DataCacheShares(unittest.TestCase):
    def test_a_share_is_the_partitions_and_stays_warm(self) -> None:
        src = write_idx(temp_dir(self), 80)
        cache, task = DataCache(), a_task(src)
        raw = mnist.load_raw(src.images_url, src.labels_url)
        want = raw.subset(partition.split(raw.labels, task.data.partition)[task.client])
        cache.took()
        first = cache.share(task)
        self.assertEqual(cache.took()[0], False)
        np.testing.assert_array_equal(first.images, want.images)
        second = cache.share(dataclasses.replace(task, client=2))
        warm, seconds = cache.took()
        self.assertTrue(warm)
        self.assertGreaterEqual(seconds, 0)
        self.assertEqual(len(second), 20)

    def test_a_missing_file(self) -> None:
        task = a_task(Source("file:///nonexistent/i.gz", "file:///nonexistent/l.gz"))
        with self.assertRaisesRegex(mnist.DataError, "read data"):
            DataCache().share(task)


if __name__ == "__main__":
    unittest.main()
