//! What a transaction changes in one graph: records, adjacency lists, label bitmaps
//! and index entries, kept in step in the overlay until commit.

use super::*;

impl Overlay {
    pub(super) fn set_label_bit(&mut self, label: &str, id: NodeId, present: bool) -> Result<()> {
        let mut bitmap = self.label_nodes(Some(label))?;
        let b = Arc::make_mut(&mut bitmap);
        if present {
            b.insert(id);
        } else {
            b.remove(id);
        }
        self.labels.insert(label.to_string(), bitmap);
        self.changed_labels.insert(label.to_string());
        Ok(())
    }

    pub(super) fn index_entries(&self, id: NodeId, rec: &NodeRecord) -> Vec<Vec<u8>> {
        self.meta
            .indexes
            .iter()
            .filter(|d| rec.has_label(&d.label))
            .filter_map(|d| index_entry(&self.graph, d, rec.properties.get(&d.property)?, id))
            .collect()
    }

    /// Replaces a node record, keeping labels and indexes in step.
    pub(super) fn put_node(&mut self, id: NodeId, old: Option<&NodeRecord>, new: NodeRecord) -> Result<()> {
        self.writable()?;
        let old_labels: BTreeSet<&String> = old.map(|o| o.labels.iter().collect()).unwrap_or_default();
        let new_labels: BTreeSet<&String> = new.labels.iter().collect();
        for l in old_labels.difference(&new_labels) {
            self.set_label_bit(l, id, false)?;
        }
        for l in new_labels.difference(&old_labels) {
            self.set_label_bit(l, id, true)?;
            self.meta.labels.insert((*l).clone());
        }
        for k in new.properties.keys() {
            if !self.meta.property_keys.contains(k) {
                self.meta.property_keys.insert(k.clone());
            }
        }
        if !self.meta.indexes.is_empty() {
            let before = old.map(|o| self.index_entries(id, o)).unwrap_or_default();
            let after = self.index_entries(id, &new);
            for k in before {
                self.index_changes.insert(k, false);
            }
            for k in after {
                self.index_changes.insert(k, true);
            }
        }
        self.nodes.insert(id, Some(Arc::new(new)));
        Ok(())
    }

    /// Creates a node; returns its id.
    pub fn create_node(&mut self, mut labels: Vec<String>, properties: Properties) -> Result<NodeId> {
        self.writable()?;
        labels.sort();
        labels.dedup();
        let id = self.meta.next_node;
        self.meta.next_node += 1;
        self.meta.node_count += 1;
        self.set_label_bit(ALL_NODES, id, true)?;
        self.put_node(id, None, NodeRecord { labels, properties })?;
        Ok(id)
    }

    /// Creates a relationship from `start` to `end`; returns its id.
    pub fn create_rel(&mut self, rel_type: &str, start: NodeId, end: NodeId, properties: Properties) -> Result<RelId> {
        self.writable()?;
        for k in properties.keys() {
            if !self.meta.property_keys.contains(k) {
                self.meta.property_keys.insert(k.clone());
            }
        }
        let id = self.meta.next_rel;
        self.meta.next_rel += 1;
        self.meta.rel_count += 1;
        let token = self.meta.type_token_or_add(rel_type);
        self.meta.type_counts[token as usize] += 1;
        self.add_adjacency(start, Direction::Outgoing, AdjEntry { type_token: token, rel: id, other: end })?;
        self.add_adjacency(end, Direction::Incoming, AdjEntry { type_token: token, rel: id, other: start })?;
        let rec = RelRecord { rel_type: rel_type.to_string(), start, end, properties };
        self.rels.insert(id, Some(Arc::new(rec)));
        Ok(id)
    }

    pub(super) fn owned_adjacency(&mut self, node: NodeId, dir: Direction) -> Result<Arc<Vec<AdjEntry>>> {
        Ok(match self.adjacency(node, dir)? {
            AdjList::Owned(a) => a,
            other => Arc::new(other.to_vec()),
        })
    }

    pub(super) fn add_adjacency(&mut self, node: NodeId, dir: Direction, entry: AdjEntry) -> Result<()> {
        let mut list = self.owned_adjacency(node, dir)?;
        let l = Arc::make_mut(&mut list);
        let at = l.partition_point(|e| e < &entry);
        l.insert(at, entry);
        self.adjacency.insert((node, dir), list);
        self.changed_adjacency.insert((node, dir));
        Ok(())
    }

    pub(super) fn remove_adjacency(&mut self, node: NodeId, dir: Direction, rel: RelId) -> Result<()> {
        let mut list = self.owned_adjacency(node, dir)?;
        Arc::make_mut(&mut list).retain(|e| e.rel != rel);
        self.adjacency.insert((node, dir), list);
        self.changed_adjacency.insert((node, dir));
        Ok(())
    }

    /// Sets (or with `None` removes) a node property.
    pub fn set_node_property(&mut self, id: NodeId, key: &str, value: Option<PropertyValue>) -> Result<()> {
        let Some(old) = self.node(id)? else { return Err(Error::EntityNotFound(format!("node {id}"))) };
        let mut new = (*old).clone();
        match value {
            Some(v) => new.properties.insert(key.to_string(), v),
            None => new.properties.remove(key),
        };
        self.put_node(id, Some(&old), new)
    }

    /// Replaces all properties of a node.
    pub fn replace_node_properties(&mut self, id: NodeId, properties: Properties) -> Result<()> {
        let Some(old) = self.node(id)? else { return Err(Error::EntityNotFound(format!("node {id}"))) };
        let mut new = (*old).clone();
        new.properties = properties;
        self.put_node(id, Some(&old), new)
    }

    /// Adds (or removes) labels of a node.
    pub fn set_node_labels(&mut self, id: NodeId, labels: &[String], add: bool) -> Result<()> {
        let Some(old) = self.node(id)? else { return Err(Error::EntityNotFound(format!("node {id}"))) };
        let mut new = (*old).clone();
        if add {
            new.labels.extend(labels.iter().cloned());
            new.labels.sort();
            new.labels.dedup();
        } else {
            new.labels.retain(|l| !labels.contains(l));
        }
        self.put_node(id, Some(&old), new)
    }

    /// Sets (or removes) a relationship property.
    pub fn set_rel_property(&mut self, id: RelId, key: &str, value: Option<PropertyValue>) -> Result<()> {
        self.writable()?;
        let Some(old) = self.rel(id)? else { return Err(Error::EntityNotFound(format!("relationship {id}"))) };
        let mut new = (*old).clone();
        match value {
            Some(v) => {
                if !self.meta.property_keys.contains(key) {
                    self.meta.property_keys.insert(key.to_string());
                }
                new.properties.insert(key.to_string(), v)
            }
            None => new.properties.remove(key),
        };
        self.rels.insert(id, Some(Arc::new(new)));
        Ok(())
    }

    /// Replaces all properties of a relationship.
    pub fn replace_rel_properties(&mut self, id: RelId, properties: Properties) -> Result<()> {
        self.writable()?;
        let Some(old) = self.rel(id)? else { return Err(Error::EntityNotFound(format!("relationship {id}"))) };
        for k in properties.keys() {
            self.meta.property_keys.insert(k.clone());
        }
        let mut new = (*old).clone();
        new.properties = properties;
        self.rels.insert(id, Some(Arc::new(new)));
        Ok(())
    }

    /// Deletes a relationship (absent ones are fine: a row may delete it twice).
    pub fn delete_rel(&mut self, id: RelId) -> Result<()> {
        self.writable()?;
        let Some(rec) = self.rel(id)? else { return Ok(()) };
        self.remove_adjacency(rec.start, Direction::Outgoing, id)?;
        self.remove_adjacency(rec.end, Direction::Incoming, id)?;
        if let Some(t) = self.meta.type_token(&rec.rel_type) {
            self.meta.type_counts[t as usize] -= 1;
        }
        self.meta.rel_count -= 1;
        self.rels.insert(id, None);
        self.deleted_rels.insert(id, rec);
        Ok(())
    }

    /// Deletes a node. Its relationships must be gone by the end of the statement
    /// ([`GraphTxn::check_statement`]).
    pub fn delete_node(&mut self, id: NodeId) -> Result<()> {
        self.writable()?;
        let Some(rec) = self.node(id)? else { return Ok(()) };
        for l in &rec.labels {
            self.set_label_bit(l, id, false)?;
        }
        self.set_label_bit(ALL_NODES, id, false)?;
        for k in self.index_entries(id, &rec) {
            self.index_changes.insert(k, false);
        }
        self.meta.node_count -= 1;
        self.nodes.insert(id, None);
        self.deleted_nodes.insert(id);
        Ok(())
    }

    pub(super) fn check_deleted_nodes(&mut self) -> Result<()> {
        let deleted: Vec<NodeId> = self.deleted_nodes.iter().copied().collect();
        for id in deleted {
            for dir in [Direction::Outgoing, Direction::Incoming] {
                if !self.adjacency(id, dir)?.is_empty() {
                    return Err(Error::Constraint(format!(
                        "node {id} cannot be deleted because it still has relationships; use DETACH DELETE"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Creates a property index and fills it from the current nodes. Returns false
    /// when an index on the same label and property exists already.
    pub fn create_index(&mut self, def: IndexDef) -> Result<bool> {
        self.writable()?;
        if self.index_for(&def.label, &def.property).is_some() || self.name_taken(&def.name) {
            return Ok(false);
        }
        let ids = self.label_nodes(Some(&def.label))?;
        for id in ids.iter() {
            if let Some(rec) = self.node(id)? {
                if let Some(k) = rec.properties.get(&def.property).and_then(|v| index_entry(&self.graph, &def, v, id)) {
                    self.index_changes.insert(k, true);
                }
            }
        }
        self.meta.indexes.push(def);
        Ok(true)
    }

    /// Drops the index called `name`; false when there is none.
    pub fn drop_index(&mut self, name: &str) -> Result<bool> {
        self.writable()?;
        if self.text_index(name).is_some() {
            return self.drop_text_index(name);
        }
        let Some(pos) = self.meta.indexes.iter().position(|i| i.name == name) else { return Ok(false) };
        let def = self.meta.indexes.remove(pos);
        let prefix = index_prefix(&self.graph, &def.label, &def.property);
        for key in self.storage.keys_with_prefix(KS, &prefix)? {
            self.index_changes.insert(key, false);
        }
        let pending: Vec<Vec<u8>> = self
            .index_changes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in pending {
            self.index_changes.insert(k, false);
        }
        Ok(true)
    }
}
