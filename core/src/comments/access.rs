//! The check behind "can comment" access: an update from a comment
//! connection may change the `comments` root and nothing else, and within it
//! only what its author owns (the rules are in docs/PROTOCOL.md).
//!
//! yrs keeps an update's structs private, so the update is decoded here
//! struct by struct with yrs' own decoder and content reader. Each inserted
//! item's parent comes from the update (an explicit parent, or its origins)
//! or from the document (the type an id belongs to, found through a sticky
//! index); each newly deleted id is located in the document the same way.
//! Nothing is applied before the whole update passes.

use std::collections::HashMap;
use std::sync::Arc;

use yrs::block::{ItemContent, ID};
use yrs::branch::{BranchID, BranchPtr};
use yrs::encoding::read::Read;
use yrs::types::TypeRef;
use yrs::updates::decoder::{Decode, Decoder, DecoderV1};
use yrs::{
    Any, Assoc, ClientID, Doc, IdSet, IndexScope, Map, MapRef, Out, ReadTxn, StateVector,
    StickyIndex, Transact, Transaction,
};

use super::{owner_of, MESSAGES, RESOLUTION, ROOT};

/// Why an update from a comment connection was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    /// The update is not a valid v1 update.
    #[error("the update could not be read")]
    Malformed,
    /// It inserts or deletes something outside the `comments` root.
    #[error("comment access cannot change the document itself")]
    OutsideComments,
    /// It refers to changes the server does not have, so where they land
    /// cannot be known.
    #[error("the update refers to changes the server does not have")]
    Unknown,
    /// It changes a thread or message someone else owns.
    #[error("comment access cannot change other people's comments")]
    NotYours,
    /// It carries content comments never use (subdocuments, links, XML).
    #[error("comments cannot hold this kind of content")]
    Content,
    /// It writes under a client id whose last change was outside
    /// `comments`: those clocks belong to a writer, whose next edits the
    /// server would then drop as already seen.
    #[error("the update uses another writer's client id")]
    ForeignClient,
    /// It nests or deletes more than a comment ever needs.
    #[error("the update is too large for a comment")]
    TooLarge,
}

/// Deepest chain of nested types a comment may have under the root.
const MAX_DEPTH: usize = 16;
/// Most ids one comment update may newly delete (a long message is a few
/// thousand; a deleted thread a few more).
const MAX_DELETED: u64 = 200_000;

/// Checks `update` (v1) from a comment connection whose token names `sub`
/// (`None`: the token names no one, and only the root is checked).
pub fn check(doc: &Doc, update: &[u8], sub: Option<&str>) -> Result<(), Refusal> {
    let decoded = Decoded::read(update).ok_or(Refusal::Malformed)?;
    let txn = doc.transact();
    let mut check = Check {
        txn: &txn,
        sv: txn.state_vector(),
        structs: &decoded.structs,
        by_client: decoded.index(),
        memo: HashMap::new(),
        sub,
    };
    check.clients()?;
    check.dependencies()?;
    for i in 0..decoded.structs.len() {
        check.insert(i)?;
    }
    check.deletes(&decoded.delete_set)
}

/// One struct of an update.
struct Struct {
    id: ID,
    len: u32,
    /// `None` for a GC struct (a deleted range, content gone).
    item: Option<Item>,
}

struct Item {
    origin: Option<ID>,
    right_origin: Option<ID>,
    parent: Parent,
    parent_sub: Option<Arc<str>>,
    content: ItemContent,
}

enum Parent {
    Root(Arc<str>),
    Type(ID),
    /// Not encoded: the same as its origin's.
    FromOrigin,
}

struct Decoded {
    structs: Vec<Struct>,
    delete_set: IdSet,
}

impl Decoded {
    /// Mirrors yrs' `Update::decode` (update.rs), keeping what it hides.
    fn read(bytes: &[u8]) -> Option<Decoded> {
        let mut d = DecoderV1::from(bytes);
        let clients: u32 = d.read_var().ok()?;
        let mut structs = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..clients {
            let count: u32 = d.read_var().ok()?;
            let client = d.read_client().ok()?;
            // Yjs lists each client once, its structs in clock order; yrs
            // trusts that, and integrated a repeated client's GC range over
            // a heading here (found by the fuzzer).
            if !seen.insert(client) {
                return None;
            }
            let mut clock: u32 = d.read_var().ok()?;
            for _ in 0..count {
                let id = ID::new(client, clock);
                let (len, item) = read_struct(&mut d)?;
                if len == 0 {
                    return None;
                }
                clock = clock.checked_add(len)?;
                if let Some(item) = item {
                    structs.push(Struct { id, len, item });
                }
            }
        }
        let delete_set = IdSet::decode(&mut d).ok()?;
        Some(Decoded {
            structs,
            delete_set,
        })
    }

    /// Per client, (clock, index) sorted by clock, to find the struct
    /// holding an id.
    fn index(&self) -> HashMap<ClientID, Vec<(u32, usize)>> {
        let mut by: HashMap<ClientID, Vec<(u32, usize)>> = HashMap::new();
        for (i, s) in self.structs.iter().enumerate() {
            by.entry(s.id.client).or_default().push((s.id.clock, i));
        }
        for v in by.values_mut() {
            v.sort_unstable();
        }
        by
    }
}

/// Returns the struct's length and, unless it is a skip, the struct (whose
/// `item` is `None` for GC).
fn read_struct(d: &mut DecoderV1) -> Option<(u32, Option<Option<Item>>)> {
    const GC: u8 = 0;
    const SKIP: u8 = 10;
    const HAS_ORIGIN: u8 = 0b1000_0000;
    const HAS_RIGHT_ORIGIN: u8 = 0b0100_0000;
    const HAS_PARENT_SUB: u8 = 0b0010_0000;
    let info = d.read_info().ok()?;
    match info {
        SKIP => Some((d.read_var().ok()?, None)),
        GC => Some((d.read_len().ok()?, Some(None))),
        info => {
            let origin = (info & HAS_ORIGIN != 0)
                .then(|| d.read_left_id())
                .transpose()
                .ok()?;
            let right_origin = (info & HAS_RIGHT_ORIGIN != 0)
                .then(|| d.read_right_id())
                .transpose()
                .ok()?;
            let explicit = origin.is_none() && right_origin.is_none();
            let parent = if !explicit {
                Parent::FromOrigin
            } else if d.read_parent_info().ok()? {
                Parent::Root(d.read_string().ok()?.into())
            } else {
                Parent::Type(d.read_left_id().ok()?)
            };
            let parent_sub = (explicit && info & HAS_PARENT_SUB != 0)
                .then(|| d.read_string().map(Arc::<str>::from))
                .transpose()
                .ok()?;
            let content = ItemContent::decode(d, info).ok()?;
            let len = content_len(&content);
            let item = Item {
                origin,
                right_origin,
                parent,
                parent_sub,
                content,
            };
            Some((len, Some(Some(item))))
        }
    }
}

/// The clock length of a content, as yrs counts it (UTF-16 for strings).
fn content_len(c: &ItemContent) -> u32 {
    match c {
        ItemContent::Any(v) => v.len() as u32,
        ItemContent::JSON(v) => v.len() as u32,
        ItemContent::Deleted(n) => *n,
        ItemContent::String(s) => s.len_utf16() as u32,
        _ => 1,
    }
}

/// Where an item lands: the type items from the root's threads down to its
/// container (empty: the root map itself), and its own key.
#[derive(Clone)]
enum Loc {
    At(Vec<Node>, Key),
    /// Its origin was garbage-collected: yrs turns it into a GC struct, so
    /// it changes nothing.
    Gone,
}

#[derive(Clone)]
struct Node {
    id: ID,
    key: Key,
}

/// A map key, when it matters (the owner is in thread and message keys).
#[derive(Clone)]
enum Key {
    None,
    Is(Arc<str>),
    /// The same key as this item in the document has (an overwrite).
    SameAs(ID),
}

struct Check<'a> {
    txn: &'a Transaction<'a>,
    sv: StateVector,
    structs: &'a [Struct],
    by_client: HashMap<ClientID, Vec<(u32, usize)>>,
    memo: HashMap<usize, Result<Loc, Refusal>>,
    sub: Option<&'a str>,
}

impl Check<'_> {
    fn in_doc(&self, id: &ID) -> bool {
        self.sv.get(&id.client) > id.clock
    }

    /// The update's struct holding `id`, if it has one and the document
    /// does not: yrs skips what it has already, so an id the document holds
    /// is where the document says, whatever the update claims (found by
    /// the fuzzer: a resent body struct made its deletion look like the
    /// update's own).
    fn find(&self, id: &ID) -> Option<usize> {
        if self.in_doc(id) {
            return None;
        }
        let v = self.by_client.get(&id.client)?;
        let at = v.partition_point(|(clock, _)| *clock <= id.clock);
        let (_, i) = *v.get(at.checked_sub(1)?)?;
        let s = &self.structs[i];
        (id.clock < s.id.clock + s.len).then_some(i)
    }

    /// Every id the update's structs refer to (origins, parents) must be in
    /// the document or the update: otherwise yrs keeps the update pending,
    /// where nothing can be checked and where it mishandles some (the
    /// fuzzer found a resent range with an unknown origin that emptied the
    /// body).
    fn dependencies(&self) -> Result<(), Refusal> {
        let known = |id: &ID| self.in_doc(id) || self.find(id).is_some();
        for s in self.structs {
            let Some(item) = &s.item else { continue };
            let parent = match &item.parent {
                Parent::Type(pid) => Some(pid),
                _ => None,
            };
            let refs = [item.origin.as_ref(), item.right_origin.as_ref(), parent];
            if refs.into_iter().flatten().any(|id| !known(id)) {
                return Err(Refusal::Unknown);
            }
        }
        Ok(())
    }

    /// Every client the update writes new clocks for must be new here, or
    /// have last written inside `comments`; and its clocks must run on from
    /// what the document has, without gaps or overlaps (a gap would wait as
    /// a pending update, which cannot be checked, and yrs mishandles some:
    /// the fuzzer found GC ranges after a gap, and overlapping ones, that
    /// panic while integrating).
    fn clients(&self) -> Result<(), Refusal> {
        for (client, runs) in &self.by_client {
            let mut end = None;
            for (clock, i) in runs {
                match end {
                    None if *clock > self.sv.get(client) => return Err(Refusal::Unknown),
                    // A client listed twice, overlapping itself (yrs then
                    // overflows a clock), or a skipped range: not from a
                    // Yjs client.
                    Some(end) if *clock != end => return Err(Refusal::Malformed),
                    _ => {}
                }
                end = Some(clock + self.structs[*i].len);
            }
        }
        for s in self.structs {
            let have = self.sv.get(&s.id.client);
            if s.item.is_none() && s.id.clock < have && s.id.clock + s.len > have {
                // A GC range over ids the document holds (found by the
                // fuzzer): yrs overflows a clock integrating it.
                return Err(Refusal::Malformed);
            }
            if have == 0 || s.id.clock + s.len <= have {
                continue;
            }
            let last = ID::new(s.id.client, have - 1);
            if let Some(branch) = branch_of(self.txn, last) {
                self.chain_of(branch).map_err(|_| Refusal::ForeignClient)?;
            }
        }
        Ok(())
    }

    fn insert(&mut self, i: usize) -> Result<(), Refusal> {
        let s = &self.structs[i];
        if s.id.clock + s.len <= self.sv.get(&s.id.client) {
            return Ok(()); // already here: yrs skips it
        }
        let Some(item) = &s.item else {
            return Ok(()); // a GC range of a client that passed `clients`
        };
        let Loc::At(chain, key) = self.locate(i, 0)? else {
            return Ok(());
        };
        match &item.content {
            ItemContent::Doc(..) => return Err(Refusal::Content),
            ItemContent::Type(b) if !matches!(b.type_ref(), TypeRef::Map | TypeRef::Array) => {
                return Err(Refusal::Content)
            }
            _ => {}
        }
        if let Some(right) = item.right_origin.filter(|_| item.origin.is_some()) {
            // Both origins must agree that this is inside `comments`.
            self.locate_id(right, 0)?;
        }
        let Some(sub) = self.sub else {
            return Ok(());
        };
        match chain.len() {
            0 => self.owned(&key, ROOT_KEY, sub),
            1 => self.owned(&chain[0].key, ROOT_KEY, sub),
            2 => match self.key_name(&chain[1].key, Some(chain[0].id)).as_deref() {
                Some(MESSAGES) => self.owned(&key, Some(chain[1].id), sub),
                Some(RESOLUTION) => signed_by(&item.content, sub),
                _ => self.owned(&chain[0].key, ROOT_KEY, sub),
            },
            _ => self.message_owned(&chain, sub),
        }
    }

    /// Inside a message (or deeper in a thread): the message's owner, or
    /// the thread's for anything not under `messages`.
    fn message_owned(&self, chain: &[Node], sub: &str) -> Result<(), Refusal> {
        match self.key_name(&chain[1].key, Some(chain[0].id)).as_deref() {
            Some(MESSAGES) => self.owned(&chain[2].key, Some(chain[1].id), sub),
            _ => self.owned(&chain[0].key, ROOT_KEY, sub),
        }
    }

    /// The key's owner must be `sub`. `parent` is the map the key is in
    /// (`None`: the root), to look up an overwritten key.
    fn owned(&self, key: &Key, parent: Option<ID>, sub: &str) -> Result<(), Refusal> {
        match self.key_name(key, parent) {
            Some(k) if owner_of(&k) == sub => Ok(()),
            _ => Err(Refusal::NotYours),
        }
    }

    fn key_name(&self, key: &Key, parent: Option<ID>) -> Option<Arc<str>> {
        match key {
            Key::None => None,
            Key::Is(k) => Some(k.clone()),
            Key::SameAs(id) => key_in(self.txn, parent, *id),
        }
    }

    /// Where the update's struct `i` lands. Origin chains (typing) are
    /// followed in a loop; parent links (nesting) recurse, bounded.
    fn locate(&mut self, i: usize, depth: usize) -> Result<Loc, Refusal> {
        if let Some(done) = self.memo.get(&i).cloned() {
            return done;
        }
        if depth > MAX_DEPTH {
            return Err(Refusal::TooLarge);
        }
        let mut walked = vec![i];
        let mut cur = i;
        let found = loop {
            let s = &self.structs[cur];
            let have = self.sv.get(&s.id.client);
            if s.id.clock < have {
                // Partly here: yrs integrates the rest next to the last id
                // the document has, whatever parent the struct names.
                break self.beside_doc_item(ID::new(s.id.client, have - 1));
            }
            let Some(item) = s.item.as_ref() else {
                break Ok(Loc::Gone);
            };
            let key = || item.parent_sub.clone().map_or(Key::None, Key::Is);
            match &item.parent {
                Parent::Root(name) if &**name == ROOT => break Ok(Loc::At(vec![], key())),
                Parent::Root(_) => break Err(Refusal::OutsideComments),
                Parent::Type(pid) => break self.inside_type(*pid, key(), depth),
                Parent::FromOrigin => {
                    let origin = item.origin.or(item.right_origin).expect("has an origin");
                    match self.find(&origin) {
                        Some(j) if self.memo.contains_key(&j) => {
                            break self.memo[&j].clone();
                        }
                        Some(j) if walked.contains(&j) => break Err(Refusal::Malformed),
                        Some(j) => {
                            walked.push(j);
                            cur = j;
                        }
                        None => break self.beside_doc_item(origin),
                    }
                }
            }
        };
        for w in walked {
            self.memo.insert(w, found.clone());
        }
        found
    }

    /// Where an id lands, whether in the update or the document.
    fn locate_id(&mut self, id: ID, depth: usize) -> Result<Loc, Refusal> {
        match self.find(&id) {
            Some(j) => self.locate(j, depth + 1),
            None => self.beside_doc_item(id),
        }
    }

    /// An item next to `origin`, which the document holds: same container,
    /// same key.
    fn beside_doc_item(&self, origin: ID) -> Result<Loc, Refusal> {
        if !self.in_doc(&origin) {
            return Err(Refusal::Unknown);
        }
        match branch_of(self.txn, origin) {
            None => Ok(Loc::Gone),
            Some(branch) => Ok(Loc::At(self.chain_of(branch)?, Key::SameAs(origin))),
        }
    }

    /// An item whose parent is the type made by item `pid`.
    fn inside_type(&mut self, pid: ID, key: Key, depth: usize) -> Result<Loc, Refusal> {
        if let Some(j) = self.find(&pid) {
            let is_type = self.structs[j].id == pid
                && matches!(
                    self.structs[j].item.as_ref().map(|i| &i.content),
                    Some(ItemContent::Type(_))
                );
            if !is_type {
                return Err(Refusal::Malformed);
            }
            return Ok(match self.locate(j, depth + 1)? {
                Loc::At(mut chain, pkey) => {
                    chain.push(Node { id: pid, key: pkey });
                    Loc::At(chain, key)
                }
                Loc::Gone => Loc::Gone,
            });
        }
        if !self.in_doc(&pid) {
            return Err(Refusal::Unknown);
        }
        match BranchID::get_nested(self.txn, &pid) {
            Some(branch) => Ok(Loc::At(self.chain_of(branch)?, key)),
            // Not a type: yrs cannot integrate it anywhere.
            None => Err(Refusal::Malformed),
        }
    }

    /// The chain from the root's threads down to `branch`, which must be
    /// inside `comments`.
    fn chain_of(&self, mut branch: BranchPtr) -> Result<Vec<Node>, Refusal> {
        let mut ids = Vec::new();
        loop {
            match branch.id() {
                BranchID::Root(name) if &*name == ROOT => break,
                BranchID::Root(_) => return Err(Refusal::OutsideComments),
                BranchID::Nested(id) => {
                    if ids.len() > MAX_DEPTH {
                        return Err(Refusal::TooLarge);
                    }
                    ids.push(id);
                    branch = branch_of(self.txn, id).ok_or(Refusal::OutsideComments)?;
                }
            }
        }
        ids.reverse();
        Ok(ids
            .into_iter()
            .map(|id| Node {
                id,
                key: Key::SameAs(id),
            })
            .collect())
    }

    /// Deletions of what is not deleted yet must each pass the same rules
    /// as inserting there.
    fn deletes(&mut self, ds: &IdSet) -> Result<(), Refusal> {
        if ds.is_empty() {
            return Ok(());
        }
        // A stock client's sync step 2 carries its whole delete set: what
        // the document has deleted already changes nothing.
        let fresh = ds.diff(&self.txn.snapshot().delete_set);
        let mut budget = MAX_DELETED;
        for (client, ranges) in fresh.iter() {
            for range in ranges.iter() {
                let n = u64::from(range.end.saturating_sub(range.start));
                budget = budget.checked_sub(n).ok_or(Refusal::TooLarge)?;
                for clock in range.clone() {
                    self.delete(ID::new(*client, clock))?;
                }
            }
        }
        Ok(())
    }

    fn delete(&mut self, id: ID) -> Result<(), Refusal> {
        if self.find(&id).is_some() {
            return Ok(()); // made by this update, and checked as such
        }
        if !self.in_doc(&id) {
            return Err(Refusal::Unknown);
        }
        let Some(branch) = branch_of(self.txn, id) else {
            return Ok(()); // garbage-collected already
        };
        let chain = self.chain_of(branch)?;
        let Some(sub) = self.sub else {
            return Ok(());
        };
        let here = Key::SameAs(id);
        match chain.len() {
            0 => self.owned(&here, ROOT_KEY, sub),
            1 => self.owned(&chain[0].key, ROOT_KEY, sub),
            2 => match self.key_name(&chain[1].key, Some(chain[0].id)).as_deref() {
                Some(MESSAGES) => self.owned(&here, Some(chain[1].id), sub),
                _ => self.owned(&chain[0].key, ROOT_KEY, sub),
            },
            _ => self.message_owned(&chain, sub),
        }
    }
}

/// `parent` for keys of the root map.
const ROOT_KEY: Option<ID> = None;

/// The type that the item holding `id` is in; `None` if it was
/// garbage-collected (or is not in the document).
fn branch_of(txn: &Transaction, id: ID) -> Option<BranchPtr> {
    StickyIndex::new(IndexScope::Relative(id), Assoc::After)
        .get_offset(txn)
        .map(|o| o.branch)
}

/// The key under which map `parent` (`None`: the root) holds the type made
/// by item `id`. Only types are found: a key holding a plain value has no
/// owner to check, so it is refused.
fn key_in(txn: &Transaction, parent: Option<ID>, id: ID) -> Option<Arc<str>> {
    let map: MapRef = match parent {
        None => txn.get_map(ROOT)?,
        Some(p) => BranchID::get_nested(txn, &p)?.into(),
    };
    let found = map.iter(txn).find_map(|(k, v)| {
        let branch = match &v {
            Out::YMap(m) => BranchID::Nested(*m.as_ref().id().as_nested()?),
            Out::YArray(a) => BranchID::Nested(*a.as_ref().id().as_nested()?),
            _ => return None,
        };
        (branch == BranchID::Nested(id)).then(|| Arc::<str>::from(k))
    });
    found
}

/// Resolution entries are plain objects, each naming its author.
fn signed_by(content: &ItemContent, sub: &str) -> Result<(), Refusal> {
    let ItemContent::Any(values) = content else {
        return Err(Refusal::NotYours);
    };
    let signed = |v: &Any| match v {
        Any::Map(m) => matches!(m.get("sub"), Some(Any::String(s)) if &**s == sub),
        _ => false,
    };
    if values.iter().all(signed) {
        Ok(())
    } else {
        Err(Refusal::NotYours)
    }
}

trait AsNested {
    fn as_nested(&self) -> Option<&ID>;
}

impl AsNested for BranchID {
    fn as_nested(&self) -> Option<&ID> {
        match self {
            BranchID::Nested(id) => Some(id),
            BranchID::Root(_) => None,
        }
    }
}
