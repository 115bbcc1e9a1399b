//! Which sealed thumbnails of a long list to open, and when: only those whose rows came into
//! view, each once, at most a few at a time. Plain Rust (the recipients' page drives it from the
//! browser's observers, [`super::thumb_rows`]), so a 1,000-file list's rules are tested natively.

use std::collections::HashMap;

/// A sealed thumbnail, by its object (a presigned URL without its signature: the same
/// thumbnail signed again, as a re-listed page hands it out, is the same one).
pub fn object_of(url: &str) -> &str {
    url.split_once('?').map_or(url, |(object, _)| object)
}

/// Where one thumbnail is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Thumb {
    /// Its row was seen; it waits for a free slot.
    Waiting,
    /// Being fetched and opened.
    Opening,
    /// Opened: the `blob:` URL of the image.
    Opened(String),
    /// It did not open (tampered, wrong key, gone): its row keeps its icon; never tried again.
    Failed,
}

/// The thumbnails of one list, by object.
#[derive(Debug)]
pub struct ThumbQueue {
    /// How many may be opening at once.
    limit: usize,
    opening: usize,
    /// `(object, url)` of the waiting ones; the last is opened next, so the rows on screen after
    /// a fast scroll do not wait for all those scrolled past.
    waiting: Vec<(String, String)>,
    thumbs: HashMap<String, Thumb>,
}

impl ThumbQueue {
    pub fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            opening: 0,
            waiting: Vec::new(),
            thumbs: HashMap::new(),
        }
    }

    pub fn state(&self, url: &str) -> Option<&Thumb> {
        self.thumbs.get(object_of(url))
    }

    /// The row of the thumbnail at `url` came into view: it waits to be opened (first in line
    /// if it was waiting already), unless it is opening or done.
    pub fn in_view(&mut self, url: &str) {
        let object = object_of(url).to_owned();
        match self.thumbs.get(&object) {
            None => {
                self.thumbs.insert(object.clone(), Thumb::Waiting);
            }
            Some(Thumb::Waiting) => self.waiting.retain(|(o, _)| *o != object),
            Some(_) => return,
        }
        self.waiting.push((object, url.to_owned()));
    }

    /// The next thumbnail to open, `(object, url)`, if a slot is free: it is then opening.
    pub fn start(&mut self) -> Option<(String, String)> {
        if self.opening >= self.limit {
            return None;
        }
        let (object, url) = self.waiting.pop()?;
        self.thumbs.insert(object.clone(), Thumb::Opening);
        self.opening += 1;
        Some((object, url))
    }

    /// A thumbnail finished opening (`None`: it did not open); its slot is free again.
    pub fn finish(&mut self, object: &str, blob: Option<String>) {
        if self.thumbs.get(object) == Some(&Thumb::Opening) {
            self.opening -= 1;
        }
        let done = blob.map_or(Thumb::Failed, Thumb::Opened);
        self.thumbs.insert(object.to_owned(), done);
    }

    /// How many are opening now.
    pub fn opening(&self) -> usize {
        self.opening
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(i: usize) -> String {
        format!("https://s3.test/bucket/thumbs/u/{i}.webp?X-Amz-Signature=s{i}")
    }

    #[test]
    fn a_thousand_rows_in_view_open_at_most_the_limit_at_once_each_once() {
        let mut queue = ThumbQueue::new(4);
        for i in 0..1000 {
            queue.in_view(&url(i));
            queue.in_view(&url(i));
        }
        let first: Vec<_> = std::iter::from_fn(|| queue.start()).collect();
        assert_eq!(first.len(), 4);
        assert_eq!(queue.opening(), 4);
        assert!(queue.start().is_none(), "no slot until one finishes");
        // The rows seen last open first.
        assert_eq!(first[0].1, url(999));
        assert_eq!(first[3].1, url(996));

        let mut opened = 0;
        let mut in_flight = first;
        while let Some((object, _)) = in_flight.pop() {
            queue.finish(&object, Some(format!("blob:{object}")));
            opened += 1;
            in_flight.extend(std::iter::from_fn(|| queue.start()));
            assert!(queue.opening() <= 4);
        }
        assert_eq!(opened, 1000, "every row's thumbnail, once");
        assert_eq!(queue.opening(), 0);
        assert_eq!(
            queue.state(&url(7)),
            Some(&Thumb::Opened(format!("blob:{}", object_of(&url(7)))))
        );
    }

    #[test]
    fn only_rows_that_came_into_view_are_opened() {
        let mut queue = ThumbQueue::new(4);
        queue.in_view(&url(1));
        assert_eq!(queue.start().map(|(_, u)| u), Some(url(1)));
        assert!(queue.start().is_none());
        assert_eq!(queue.state(&url(2)), None);
    }

    #[test]
    fn a_row_seen_again_while_waiting_goes_first_and_once_done_is_never_opened_again() {
        let mut queue = ThumbQueue::new(1);
        for i in 0..3 {
            queue.in_view(&url(i));
        }
        queue.in_view(&url(0));
        let (object, _) = queue.start().unwrap();
        assert_eq!(object, object_of(&url(0)));
        // Seen again while opening, or once failed, even signed anew: not queued again.
        queue.in_view(&url(0));
        queue.finish(&object, None);
        queue.in_view(&format!("{}?X-Amz-Signature=new", object_of(&url(0))));
        assert_eq!(queue.state(&url(0)), Some(&Thumb::Failed));
        let rest: Vec<_> = std::iter::from_fn(|| {
            let next = queue.start();
            if let Some((object, _)) = &next {
                queue.finish(object, Some("blob:x".into()));
            }
            next
        })
        .map(|(_, u)| u)
        .collect();
        assert_eq!(rest, [url(2), url(1)]);
    }

    #[test]
    fn the_object_is_the_url_without_its_signature() {
        assert_eq!(
            object_of("http://127.0.0.1:9/b/thumbs/u/f.webp?X-Amz-Date=1&X-Amz-Signature=a"),
            "http://127.0.0.1:9/b/thumbs/u/f.webp"
        );
        assert_eq!(object_of("blob:http://x/1"), "blob:http://x/1");
    }
}
