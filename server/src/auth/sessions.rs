//! Browser sessions stored in Parley's own `sessions` table, so they work on
//! SQLite and PostgreSQL alike and every node sees every session.

use async_trait::async_trait;
use sqlx::AnyPool;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// A [`SessionStore`] on the server's database (records as JSON).
#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: AnyPool,
}

impl DbSessionStore {
    pub fn new(db: AnyPool) -> Self {
        Self { db }
    }

    /// Deletes sessions that have expired (the janitor calls this).
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete_expired(&self, now_secs: i64) -> sqlx::Result<u64> {
        Ok(sqlx::query("delete from sessions where expires_at < $1")
            .bind(now_secs)
            .execute(&self.db)
            .await?
            .rows_affected())
    }
}

fn backend(e: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A colliding id (2^-128) gets a fresh one rather than taking over a session.
        loop {
            let json = serde_json::to_string(&*record).map_err(|e| session_store::Error::Encode(e.to_string()))?;
            let inserted = sqlx::query(
                "insert into sessions (id, record, expires_at) values ($1, $2, $3) on conflict (id) do nothing",
            )
            .bind(record.id.to_string())
            .bind(json)
            .bind(record.expiry_date.unix_timestamp())
            .execute(&self.db)
            .await
            .map_err(backend)?
            .rows_affected();
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let json = serde_json::to_string(record).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        sqlx::query(
            "insert into sessions (id, record, expires_at) values ($1, $2, $3)
             on conflict (id) do update set record = excluded.record, expires_at = excluded.expires_at",
        )
        .bind(record.id.to_string())
        .bind(json)
        .bind(record.expiry_date.unix_timestamp())
        .execute(&self.db)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let row: Option<(String,)> = sqlx::query_as("select record from sessions where id = $1 and expires_at > $2")
            .bind(id.to_string())
            .bind(now)
            .fetch_optional(&self.db)
            .await
            .map_err(backend)?;
        row.map(|(json,)| serde_json::from_str(&json).map_err(|e| session_store::Error::Decode(e.to_string())))
            .transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("delete from sessions where id = $1")
            .bind(id.to_string())
            .execute(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stores_loads_expires_and_deletes_sessions() {
        let path = std::env::temp_dir().join(format!("parley-sessions-{}.db", ulid::Ulid::new()));
        let db = crate::db::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        let store = DbSessionStore::new(db);
        let now = time::OffsetDateTime::now_utc();
        let mut record = Record {
            id: Id::default(),
            data: [("user".to_owned(), serde_json::json!("u_1"))].into_iter().collect(),
            expiry_date: now + time::Duration::hours(1),
        };
        store.create(&mut record).await.unwrap();
        assert_eq!(store.load(&record.id).await.unwrap(), Some(record.clone()));

        record.data.insert("lang".into(), serde_json::json!("pt"));
        store.save(&record).await.unwrap();
        assert_eq!(store.load(&record.id).await.unwrap().unwrap().data["lang"], "pt");

        let mut old =
            Record { id: Id::default(), data: Default::default(), expiry_date: now - time::Duration::hours(1) };
        store.create(&mut old).await.unwrap();
        assert_eq!(store.load(&old.id).await.unwrap(), None, "an expired session does not load");
        assert_eq!(store.delete_expired(now.unix_timestamp()).await.unwrap(), 1);

        store.delete(&record.id).await.unwrap();
        assert_eq!(store.load(&record.id).await.unwrap(), None);
        let _ = std::fs::remove_file(&path);
    }
}
