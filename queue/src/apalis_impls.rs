//! How apalis drives a [`RedisQueue`]: `Backend` (delegating to the worker runtime in
//! [`crate::worker`]), `BackendConfig` (durable, binds the worker and returns the ack layer),
//! `WireFormatBackend` (JSON) and `Sink` (so apalis' `TaskSink::push*` write through the same
//! push script as [`RedisQueue::enqueue_bulk`]).

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use apalis_codec::json::JsonCodec;
use apalis_core::{
    backend::{Backend, BackendConfig, WireFormatBackend, finalize::Durable},
    task::Task,
    worker::context::WorkerContext,
};
use futures::{FutureExt, Sink, channel::mpsc};
use ulid::Ulid;

use crate::{
    ack::AckLayer,
    config::QueueConfig,
    encoded_job::EncodedJob,
    error::{QueueError, Result},
    handle::RedisQueue,
    producer::push_jobs,
    worker::WorkerRuntime,
};

impl<Args> Backend for RedisQueue<Args> {
    type Task = Task<Vec<u8>>;
    type Error = QueueError;

    fn poll_ready(&mut self, cx: &mut Context<'_>, worker: &WorkerContext) -> Poll<Result<()>> {
        let Some(rt) = self.runtime.as_mut() else {
            return Poll::Ready(Err(QueueError::NotBound));
        };
        rt.poll_ready(cx, worker)
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        _worker: &WorkerContext,
    ) -> Poll<Option<Result<Self::Task>>> {
        let Some(rt) = self.runtime.as_mut() else {
            return Poll::Ready(Some(Err(QueueError::NotBound)));
        };
        rt.poll_next(cx)
    }

    fn poll_close(&mut self, cx: &mut Context<'_>, _worker: &WorkerContext) -> Poll<Result<()>> {
        let Some(rt) = self.runtime.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        rt.poll_close(cx)
    }
}

impl<Args> BackendConfig for RedisQueue<Args> {
    type Args = Args;
    type Id = Ulid;
    type Kind = Durable;
    type Config = QueueConfig;
    type Layer = AckLayer;

    fn config(&self) -> &Self::Config {
        &self.inner.cfg
    }

    /// Called once by `Worker::stream()` before polling: binds this instance as a worker
    /// source and returns the ack layer feeding it.
    fn middleware(&mut self, _worker: &mut WorkerContext) -> Self::Layer {
        let (tx, rx) = mpsc::unbounded();
        self.runtime = Some(Box::new(WorkerRuntime::new(
            self.inner.clone(),
            self.conn.clone(),
            rx,
        )));
        AckLayer::new(tx, self.inner.cfg.clone())
    }
}

impl<Args> WireFormatBackend for RedisQueue<Args> {
    type Codec = JsonCodec<Vec<u8>>;
    type Compact = Vec<u8>;

    fn codec(&self) -> &Self::Codec {
        &self.codec
    }
}

impl<Args> Sink<Task<Vec<u8>>> for RedisQueue<Args> {
    type Error = QueueError;

    fn poll_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, item: Task<Vec<u8>>) -> Result<()> {
        self.get_mut().sink_buffer.push(item);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        if this.sink_fut.is_none() {
            if this.sink_buffer.is_empty() {
                return Poll::Ready(Ok(()));
            }
            let jobs: Vec<EncodedJob> = this
                .sink_buffer
                .drain(..)
                .map(EncodedJob::from_task)
                .collect();
            this.sink_fut = Some(
                push_jobs(this.inner.clone(), this.conn.clone(), jobs)
                    .boxed()
                    .into(),
            );
        }
        let Some(f) = this.sink_fut.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let r = std::task::ready!(f.poll_unpin(cx));
        this.sink_fut = None;
        Poll::Ready(r)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.poll_flush(cx)
    }
}
