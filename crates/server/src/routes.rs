//! The one way to add a route: a [`Registrar`] that marks each path as
//! gated, signed or public, so no route can be added without saying which.
//!
//! A gated route reads event data: it is wrapped in the audit middleware
//! (`audit::gate`), and its handler parses a `Question` and has the
//! governance gate decide on it (`ask.rs`). A signed route needs
//! credentials but reads no event data (reload, metrics, the list of one's
//! sites). A public route needs nothing (the collector, the tracker, the
//! transparency register and log, sign-in, health).
//!
//! [`Registrar::table`] lists every path with its access; a test holds it
//! against `/api/openapi.json` and probes every path over HTTP.

use crate::App;
use axum::routing::MethodRouter;
use axum::Router;

/// How a route may be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads event data: credentials, the gate and the audit log.
    Gated,
    /// Needs credentials; reads no event data.
    Signed,
    /// Anyone may call it.
    Public,
    /// Another node's message: its signature says who sent it, the gate
    /// decides (`authorise_exchange`), the audit log records it.
    Node,
}

/// Collects the routes of every module, with their access.
pub struct Registrar {
    app: App,
    router: Router<App>,
    table: Vec<(&'static str, Access)>,
}

impl Registrar {
    /// An empty registrar for `app`'s routes.
    pub fn new(app: App) -> Registrar {
        Registrar {
            app,
            router: Router::new(),
            table: Vec::new(),
        }
    }

    /// A route that reads event data: audited, and its handler asks the gate.
    pub fn gated(&mut self, path: &'static str, route: MethodRouter<App>) -> &mut Registrar {
        let audited = route
            .route_layer(axum::middleware::from_fn_with_state(
                self.app.clone(),
                crate::audit::gate,
            ))
            .layer::<_, std::convert::Infallible>(axum::extract::DefaultBodyLimit::max(
                crate::audit::MAX_BODY,
            ));
        self.add(path, Access::Gated, audited)
    }

    /// A route that needs credentials but reads no event data.
    pub fn signed(&mut self, path: &'static str, route: MethodRouter<App>) -> &mut Registrar {
        self.add(path, Access::Signed, route)
    }

    /// The route partner nodes send their signed messages to. Given a
    /// longer time than other requests (`deadline`, from the table):
    /// answering a set intersection of a million elements takes longer
    /// than any other request may.
    pub fn node(&mut self, path: &'static str, route: MethodRouter<App>) -> &mut Registrar {
        self.add(path, Access::Node, route)
    }

    /// A route anyone may call.
    pub fn public(&mut self, path: &'static str, route: MethodRouter<App>) -> &mut Registrar {
        self.add(path, Access::Public, route)
    }

    fn add(
        &mut self,
        path: &'static str,
        access: Access,
        route: MethodRouter<App>,
    ) -> &mut Registrar {
        self.router = std::mem::take(&mut self.router).route(path, route);
        self.table.push((path, access));
        self
    }

    /// Every path registered, with its access.
    pub fn table(&self) -> &[(&'static str, Access)] {
        &self.table
    }

    /// The router of everything registered.
    pub fn into_router(self) -> Router<App> {
        self.router
    }
}
